// Runs shellcheck through the npm wrapper, pointed at the system binary when there is one: the wrapper's own
// download needs the internet, which air-gapped and CI machines do not have.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `shellcheck` on PATH that is not an npm shim (which would be the wrapper itself). */
export function findSystemShellcheck(searchPath = process.env['PATH'] ?? ''): string | undefined {
  return searchPath
    .split(path.delimiter)
    .filter((directory) => directory !== '' && !directory.split(path.sep).includes('node_modules'))
    .map((directory) => path.join(directory, 'shellcheck'))
    .find(isExecutable);
}

/** Environment for the npm `shellcheck` wrapper: SHELLCHECKJS_BIN set to the system binary unless already set. */
export function shellcheckEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const systemBinary = env['SHELLCHECKJS_BIN'] ?? findSystemShellcheck(env['PATH']);
  return systemBinary === undefined ? { ...env } : { ...env, SHELLCHECKJS_BIN: systemBinary };
}

const wrapperBin = (): string => {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('shellcheck/package.json')), 'bin', 'shellcheck.js');
};

export function runShellcheck(args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [wrapperBin(), ...args], shellcheckEnv());
}
