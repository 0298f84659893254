// The tests, benchmarks, build scripts and docs site code are type-checked against src (tsconfig.test.json), not only the
// package (tsconfig.json): a hand-built plan or report in a test that drifts from its type fails here, not at run time.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

it('tsc finds no type error in src, test, bench, scripts and the docs site code', () => {
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.test.json')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 120_000);
