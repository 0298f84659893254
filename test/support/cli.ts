// Spawns the built CLI the way a user runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const EXAMPLES = path.join(ROOT, 'examples');
/** Where this machine's bash is, for stand-ins' shebangs and PATHs that hold nothing else. */
export const BASH = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The lint cache of this test run, so that no test reads or fills the user's own. */
export const testCacheDir = (): string => path.join(process.env['MVG_TEST_TMP'] ?? tmpdir(), 'cache');

export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', MACVLAN_GEN_CACHE_DIR: testCacheDir(), ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync('bash', [script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh folder inside this test run's temporary folder (removed when the run ends). */
export const tempDir = (label: string): string => mkdtempSync(path.join(process.env['MVG_TEST_TMP'] ?? tmpdir(), `${label}-`));
