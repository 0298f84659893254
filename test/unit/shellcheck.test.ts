import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { npmShellcheckWrapper, shellcheckCommand } from '../../src/lint/shellcheck.js';
import { ROOT, tempDir } from '../support/cli.js';

/** A folder per name, each with an executable (or, for names ending in "-noexec", a plain) `shellcheck`. */
function binDirs(...names: string[]): string[] {
  const root = tempDir('shellcheck');
  return names.map((name) => {
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'shellcheck'), '#!/bin/sh\n', { mode: name.endsWith('-noexec') ? 0o644 : 0o755 });
    return dir;
  });
}

const WRAPPER = '/pkg/node_modules/shellcheck/bin/shellcheck.js';

describe('shellcheckCommand: the system binary, then the npm wrapper, then none', () => {
  it('takes SHELLCHECKJS_BIN over anything on PATH', () => {
    const [onPath = ''] = binDirs('usr-bin');
    expect(shellcheckCommand({ SHELLCHECKJS_BIN: '/opt/shellcheck', PATH: onPath }, WRAPPER)).toEqual({ command: '/opt/shellcheck', args: [] });
  });

  it('runs the first executable shellcheck on PATH directly, passing over npm shims and files it cannot run', () => {
    const [shim = '', plain = '', system = ''] = binDirs('proj/node_modules/.bin', 'plain-noexec', 'usr-bin');
    expect(shellcheckCommand({ PATH: [shim, plain, system].join(path.delimiter) }, WRAPPER)).toEqual({ command: path.join(system, 'shellcheck'), args: [] });
  });

  it('falls back to the npm wrapper (which downloads a binary) when the system has none', () => {
    const [shim = ''] = binDirs('proj/node_modules/.bin');
    expect(shellcheckCommand({ PATH: shim }, WRAPPER)).toEqual({ command: process.execPath, args: [WRAPPER] });
  });

  it('has nothing to run without either (the standalone build on a machine without shellcheck)', () => {
    expect(shellcheckCommand({ PATH: '' }, undefined)).toBeUndefined();
  });

  it('finds the npm wrapper installed with the package', () => {
    expect(npmShellcheckWrapper()).toBe(path.join(ROOT, 'node_modules', 'shellcheck', 'bin', 'shellcheck.js'));
  });
});
