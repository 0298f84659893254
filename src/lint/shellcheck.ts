// Runs shellcheck through the npm wrapper, pointed at the system binary when there is one: the wrapper's own
// download needs the internet, which air-gapped and CI machines do not have.
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runProcess, type ProcessResult } from '../process.js';

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
