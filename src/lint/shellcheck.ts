// Finds the shellcheck to run, in this order: the system's binary (SHELLCHECKJS_BIN, else the first on PATH), else the
// npm `shellcheck` wrapper, whose download of a binary needs the internet that air-gapped and CI machines lack, else
// none (the standalone build carries no wrapper).
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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

/** The npm wrapper's script, where the package is installed beside this module. */
export function npmShellcheckWrapper(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('shellcheck/package.json')), 'bin', 'shellcheck.js');
  } catch {
    return undefined;
  }
}

export interface ShellcheckCommand {
  command: string;
  args: string[];
}

export function shellcheckCommand(env: NodeJS.ProcessEnv, wrapper: string | undefined): ShellcheckCommand | undefined {
  const systemBinary = env['SHELLCHECKJS_BIN'] || findSystemShellcheck(env['PATH']);
  if (systemBinary) return { command: systemBinary, args: [] };
  if (wrapper !== undefined) return { command: process.execPath, args: [wrapper] };
  return undefined;
}
