// Builds the CLI once (the e2e tests spawn it) and gives every test run one temporary folder, removed at the end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', root], { stdio: 'inherit' });
  const runDir = mkdtempSync(path.join(tmpdir(), 'mvg-test-'));
  process.env['MVG_TEST_TMP'] = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
