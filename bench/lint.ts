// Lint of 1,000 generated scripts: macvlan-gen lint (many files per shellcheck, spread over the cores) against one
// shellcheck process per file, run one after another.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFleet } from './generate.js';
import { SHELLCHECK_ARGS } from '../src/lint/lint.js';
import { findSystemShellcheck } from '../src/lint/shellcheck.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export async function benchLint(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  const out = mkdtempSync(path.join(tmpdir(), 'mvg-bench-lint-'));
  try {
    generateFleet({ nodes: 1000, namespaces: 20 }, out);
    const scripts = readdirSync(out).filter((name) => name.endsWith('.sh')).map((name) => path.join(out, name));
    console.log(`lint of ${scripts.length} generated scripts (shellcheck ${SHELLCHECK_ARGS.join(' ')}):`);
    let start = process.hrtime.bigint();
    const lint = spawnSync(process.execPath, [CLI, 'lint', out], { encoding: 'utf8' });
    const ours = Number(process.hrtime.bigint() - start) / 1e9;
    if (lint.status !== 0) throw new Error(`lint failed: ${lint.stdout.slice(-300)}${lint.stderr}`);
    console.log(`  ${'macvlan-gen lint'.padEnd(44)} ${ours.toFixed(2).padStart(7)} s`);
    const shellcheck = process.env['SHELLCHECKJS_BIN'] ?? findSystemShellcheck() ?? 'shellcheck';
    start = process.hrtime.bigint();
    for (const script of scripts) {
      const run = spawnSync(shellcheck, [...SHELLCHECK_ARGS, script], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`shellcheck ${script} failed: ${run.stdout.slice(0, 300)}`);
      spawnSync('bash', ['-n', script]);
    }
    const sequential = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(`  ${'one shellcheck + bash -n per file, in turn'.padEnd(44)} ${sequential.toFixed(2).padStart(7)} s`);
    return [{ name: 'lint / sequential per file', value: ours / sequential, reference: sequential, target: '<= 0.6', ok: ours / sequential <= 0.6 }];
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
