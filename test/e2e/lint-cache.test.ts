// `lint` lints a script only once for its content: the cache (one entry per script, keyed by its bytes, shellcheck's
// version and the options), counted through a stand-in shellcheck that logs the files of each run and then runs the
// real one. And the progress line, on a terminal (a pseudo-terminal from util-linux `script`) and nowhere else.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findSystemShellcheck } from '../../src/lint/shellcheck.js';
import { BASH, CLI, EXAMPLES, runCli, tempDir, type Run } from '../support/cli.js';

const REAL_SHELLCHECK = process.env['SHELLCHECKJS_BIN'] || findSystemShellcheck();

const STANDIN = `#!${BASH}
# A stand-in shellcheck: logs the files of each lint run on a line of STANDIN_LOG, then runs the real one.
if [[ "$1" == --version ]]; then
  if [[ -n "\${STANDIN_VERSION:-}" ]]; then printf 'ShellCheck\\nversion: %s\\n' "\${STANDIN_VERSION}"; exit 0; fi
  exec "\${REAL_SHELLCHECK}" --version
fi
files=()
after=0
for arg in "$@"; do
  if [[ "\${after}" == 1 ]]; then files+=("\${arg}"); elif [[ "\${arg}" == -- ]]; then after=1; fi
done
printf '%s\\n' "\${files[*]}" >> "\${STANDIN_LOG}"
if [[ -n "\${STANDIN_FAIL:-}" ]]; then echo 'stand-in failure' >&2; exit 3; fi
if [[ -n "\${STANDIN_SLEEP:-}" ]]; then sleep "\${STANDIN_SLEEP}"; fi
exec "\${REAL_SHELLCHECK}" "$@"
`;

interface LintRun extends Run {
  /** The files of each shellcheck run that linted (the --version question is not one). */
  shellcheckRuns: string[][];
}

describe('lint cache', () => {
  let cwd: string;
  let standin: string;

  beforeAll(() => {
    if (REAL_SHELLCHECK === undefined) throw new Error('these tests need shellcheck on the system; scripts/system-packages.sh test installs it');
    cwd = tempDir('lint-cache');
    standin = path.join(cwd, 'shellcheck-standin');
    writeFileSync(standin, STANDIN, { mode: 0o755 });
    expect(runCli(['generate', path.join(EXAMPLES, 'three-nodes.yaml'), '--out-dir', 'fleet'], cwd).status).toBe(0);
    // One generated script and small ones, with findings of shellcheck and of bash -n, and without.
    mkdirSync(path.join(cwd, 'dirty'));
    cpSync(path.join(cwd, 'fleet', 'node-a.sh'), path.join(cwd, 'dirty', 'node-a.sh'));
    writeFileSync(path.join(cwd, 'dirty', 'clean.sh'), '#!/usr/bin/env bash\nprintf "%s\\n" "${HOME}"\n');
    writeFileSync(path.join(cwd, 'dirty', 'extra.sh'), '#!/usr/bin/env bash\necho $1 `date`\n');
    writeFileSync(path.join(cwd, 'dirty', 'broken.sh'), '#!/usr/bin/env bash\nif then\n');
  });

  /** Runs lint with its own cache directory and log, returning what it printed and the shellcheck runs it made. */
  function linter(cache = path.join(tempDir('cache'), 'c')): (args: string[], env?: NodeJS.ProcessEnv) => LintRun {
    const log = path.join(tempDir('log'), 'shellcheck.log');
    return (args, env = {}) => {
      writeFileSync(log, '');
      const run = runCli(['lint', ...args], cwd, { SHELLCHECKJS_BIN: standin, REAL_SHELLCHECK, STANDIN_LOG: log, MACVLAN_GEN_CACHE_DIR: cache, ...env });
      const lines = readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
      return { ...run, shellcheckRuns: lines.map((line) => line.split(' ')) };
    };
  }

  const scriptsIn = (dir: string): string[] => readdirSync(path.join(cwd, dir)).filter((name) => name.endsWith('.sh')).map((name) => `${dir}/${name}`).sort();
  const linted = (run: LintRun): string[] => run.shellcheckRuns.flat().sort();

  it('lints each script once: a second run starts no shellcheck but for its version, and prints the same in every format', () => {
    const lint = linter();
    const first = lint(['dirty', '--format', 'json']);
    expect(first.status).toBe(1);
    expect(linted(first)).toEqual(scriptsIn('dirty'));
    for (const format of ['text', 'json', 'sarif', 'junit']) {
      const cached = lint(['dirty', '--format', format]);
      expect(cached.shellcheckRuns, format).toEqual([]);
      const fresh = lint(['dirty', '--format', format, '--no-cache']);
      expect(linted(fresh), format).toEqual(scriptsIn('dirty'));
      expect(cached, format).toEqual({ ...fresh, shellcheckRuns: [] });
      expect(cached.status, format).toBe(1);
    }
    expect(first.stdout).toBe(lint(['dirty', '--format', 'json']).stdout);
  });

  it('lints again only the one script that changed, in one shellcheck run over that one file', () => {
    const lint = linter();
    expect(linted(lint(['fleet']))).toEqual(scriptsIn('fleet'));
    appendFileSync(path.join(cwd, 'fleet', 'node-b.sh'), '# edited by hand\n');
    const again = lint(['fleet']);
    expect(again).toMatchObject({ status: 0, stdout: '3 scripts linted: 0 findings\n', stderr: '' });
    expect(again.shellcheckRuns).toEqual([['fleet/node-b.sh']]);
    expect(lint(['fleet']).shellcheckRuns).toEqual([]);
  });

  it('takes the same content at another path from the cache, reported at its new path', () => {
    const lint = linter();
    lint(['dirty']);
    cpSync(path.join(cwd, 'dirty'), path.join(cwd, 'moved'), { recursive: true });
    const moved = lint(['moved', '--json']);
    expect(moved.shellcheckRuns).toEqual([]);
    const findings = (JSON.parse(moved.stdout) as { findings: { file: string }[] }).findings;
    expect(new Set(findings.map((finding) => finding.file))).toEqual(new Set(['moved/broken.sh', 'moved/extra.sh']));
    expect(moved.stdout).toBe(lint(['moved', '--json', '--no-cache']).stdout);
  });

  it('lints everything again for another shellcheck version or other shellcheck options', () => {
    const lint = linter();
    lint(['dirty']);
    const otherVersion = lint(['dirty'], { STANDIN_VERSION: '0.0.1' });
    expect(linted(otherVersion)).toEqual(scriptsIn('dirty'));
    expect(lint(['dirty'], { STANDIN_VERSION: '0.0.1' }).shellcheckRuns).toEqual([]);
    const otherOptions = lint(['dirty'], { SHELLCHECK_OPTS: '--exclude=SC2086' });
    expect(linted(otherOptions)).toEqual(scriptsIn('dirty'));
    expect(otherOptions.stdout).not.toContain('SC2086');
    expect(lint(['dirty']).stdout).toContain('SC2086');
  });

  it('--no-cache neither reads nor writes the cache', () => {
    const cache = path.join(tempDir('cache'), 'c');
    const lint = linter(cache);
    expect(linted(lint(['dirty', '--no-cache']))).toEqual(scriptsIn('dirty'));
    expect(existsSync(cache)).toBe(false);
    lint(['dirty']);
    expect(linted(lint(['dirty', '--no-cache']))).toEqual(scriptsIn('dirty'));
  });

  it('lints again a script whose entry is corrupt, and replaces the entry', () => {
    const cache = path.join(tempDir('cache'), 'c');
    const lint = linter(cache);
    const fresh = lint(['dirty', '--json']);
    const entries = readdirSync(path.join(cache, 'lint')).filter((name) => name.endsWith('.json'));
    expect(entries).toHaveLength(4);
    for (const [index, entry] of entries.entries()) writeFileSync(path.join(cache, 'lint', entry), ['', '{"findings":[', 'null', '\u0000'][index] ?? '');
    const again = lint(['dirty', '--json']);
    expect(linted(again)).toEqual(scriptsIn('dirty'));
    expect({ ...again, shellcheckRuns: [] }).toEqual({ ...fresh, shellcheckRuns: [] });
    expect(lint(['dirty', '--json']).shellcheckRuns).toEqual([]);
  });

  it('lints without a cache it cannot write: one warning on stderr in text, none under --json', () => {
    const blocker = path.join(tempDir('cache'), 'a-file');
    writeFileSync(blocker, '');
    const lint = linter(blocker);
    const expected = lint(['dirty', '--no-cache']);
    const text = lint(['dirty']);
    expect(text).toMatchObject({ status: 1, stdout: expected.stdout, stderr: `macvlan-gen: lint cache ${path.join(blocker, 'lint')} cannot be written (ENOTDIR); linting without keeping results (--no-cache skips the cache)\n` });
    expect(linted(text)).toEqual(scriptsIn('dirty'));
    expect(lint(['dirty', '--json'])).toMatchObject({ status: 1, stderr: '' });
  });

  it('keeps nothing of a shellcheck run that failed', () => {
    const cache = path.join(tempDir('cache'), 'c');
    const lint = linter(cache);
    const failed = lint(['dirty'], { STANDIN_FAIL: '1' });
    expect(failed).toMatchObject({ status: 4, stdout: '', stderr: expect.stringContaining('shellcheck could not run (stand-in failure)') as unknown });
    expect(existsSync(cache) ? readdirSync(path.join(cache, 'lint')).filter((name) => name.endsWith('.json')) : []).toEqual([]);
    expect(linted(lint(['dirty']))).toEqual(scriptsIn('dirty'));
  });
});

describe('lint progress', () => {
  const ERASE = '\r\u001b[K';
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    cwd = tempDir('lint-progress');
    mkdirSync(path.join(cwd, 'out'));
    for (const name of ['a.sh', 'b.sh']) writeFileSync(path.join(cwd, 'out', name), '#!/usr/bin/env bash\nprintf "%s\\n" "${HOME}"\n');
    const standin = path.join(cwd, 'shellcheck-standin');
    writeFileSync(standin, STANDIN, { mode: 0o755 });
    mkdirSync(path.join(cwd, 'log'));
    // Each shellcheck run takes 2.5 s more: a lint long enough to show its progress.
    env = { ...process.env, NO_COLOR: '1', SHELLCHECKJS_BIN: standin, REAL_SHELLCHECK, STANDIN_LOG: path.join(cwd, 'log', 'runs'), STANDIN_SLEEP: '2.5' };
  });

  /** Runs lint with stdout and stderr on a pseudo-terminal, as in an operator's terminal; returns what it showed. */
  function onTerminal(args: string[]): string {
    const command = [process.execPath, CLI, 'lint', ...args, '--no-cache'].map((arg) => `'${arg}'`).join(' ');
    const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    return run.stdout;
  }

  it('shows n/N scripts, the time so far and the time left on a terminal once the lint takes over 2 s, then erases it', () => {
    const shown = onTerminal([]);
    expect(shown).toMatch(/\r\u001b\[Klint: 0\/2 scripts, elapsed [23]s, estimating the time left/);
    expect(shown.endsWith(`${ERASE}2 scripts linted: 0 findings\r\n`)).toBe(true);
  });

  it('shows none under --json, or when stderr is not a terminal', () => {
    expect(onTerminal(['--json'])).not.toContain('lint: ');
    const piped = spawnSync(process.execPath, [CLI, 'lint', '--no-cache'], { cwd, encoding: 'utf8', env });
    expect(piped).toMatchObject({ status: 0, stdout: '2 scripts linted: 0 findings\n', stderr: '' });
  });
});
