// The standalone build, copied alone into an empty folder with no node_modules above it, run with plain node: every
// command a generation host needs works, and what it writes is byte for byte what the package writes.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStandalone, STANDALONE_FILE, STANDALONE_NAME, writeStandalone } from '../../scripts/build-standalone.js';
import { BASH, EXAMPLES, ROOT, runCli, tempDir, type Run } from '../support/cli.js';

const CONFIGS = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml'));

/** Every file under a folder, by relative path, with its bytes. */
function tree(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((name) => statSync(path.join(dir, name)).isFile())
      .sort()
      .map((name) => [name, readFileSync(path.join(dir, name))]),
  );
}

describe('the standalone build (one file, plain node, no node_modules)', () => {
  let home: string;
  let run: (args: string[], env?: NodeJS.ProcessEnv) => Run;

  beforeAll(async () => {
    // Not under the test run's folder or the checkout: a folder of its own, with no node_modules in any parent.
    home = mkdtempSync(path.join(tmpdir(), 'mvg-standalone-'));
    writeStandalone(await buildStandalone(), STANDALONE_FILE);
    copyFileSync(STANDALONE_FILE, path.join(home, STANDALONE_NAME));
    const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}/usr/bin${path.delimiter}/bin`, HOME: home, LANG: 'C.UTF-8', NO_COLOR: '1' };
    run = (args, extra = {}) => {
      const result = spawnSync(process.execPath, [STANDALONE_NAME, ...args], { cwd: home, encoding: 'utf8', env: { ...env, ...extra } });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    };
  }, 60_000);

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('sits alone in a folder from which no node_modules can be reached', () => {
    expect(readdirSync(home)).toEqual([STANDALONE_NAME]);
    for (let dir = home; dir !== path.dirname(dir); dir = path.dirname(dir)) expect(existsSync(path.join(dir, 'node_modules')), dir).toBe(false);
    expect(readFileSync(path.join(home, STANDALONE_NAME), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    expect(statSync(path.join(home, STANDALONE_NAME)).mode & 0o111).toBe(0o111);
  });

  it('prints the same --help, --version and command help as the package', () => {
    for (const args of [['--help'], ['--version'], ['generate', '--help'], ['lint', '--help'], ['lab', '--help']]) {
      const standalone = run(args);
      expect(standalone.status, args.join(' ')).toBe(0);
      expect(standalone.stdout, args.join(' ')).toBe(runCli(args, tempDir('package')).stdout);
    }
    expect(run(['--version']).stdout).toBe(`${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('schema prints the committed JSON Schema', () => {
    expect(run(['schema'])).toEqual({ status: 0, stdout: readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8'), stderr: '' });
  });

  it('init writes the same config as the package, which validates and generates', () => {
    const packageDir = tempDir('package');
    expect(runCli(['init'], packageDir).status).toBe(0);
    expect(run(['init'])).toEqual({ status: 0, stdout: 'wrote macvlan-gen.yaml; next: macvlan-gen generate macvlan-gen.yaml\n', stderr: '' });
    expect(readFileSync(path.join(home, 'macvlan-gen.yaml'), 'utf8')).toBe(readFileSync(path.join(packageDir, 'macvlan-gen.yaml'), 'utf8'));
    expect(run(['validate'])).toMatchObject({ status: 0, stdout: 'macvlan-gen.yaml: valid (2 nodes: node1, node2; 0 errors, 0 warnings)\n' });
    expect(run(['generate', '--out-dir', 'init-out']).status).toBe(0);
    expect(runCli(['generate', '--out-dir', 'init-out'], packageDir).status).toBe(0);
    expect(tree(path.join(home, 'init-out'))).toEqual(tree(path.join(packageDir, 'init-out')));
  });

  it.each(CONFIGS)('generate %s: byte for byte the package CLI\'s files, and check and lint agree', (config) => {
    const packageDir = tempDir('package');
    const outDir = `out-${path.basename(config, '.yaml')}`;
    const file = path.join(EXAMPLES, config);
    expect(run(['validate', file]).status).toBe(0);
    const generated = run(['generate', file, '--out-dir', outDir]);
    expect(generated.status).toBe(0);
    expect(generated.stdout).toBe(runCli(['generate', file, '--out-dir', outDir], packageDir).stdout);
    const files = tree(path.join(home, outDir));
    expect([...files.keys()]).toContain('SHA256SUMS');
    expect(files).toEqual(tree(path.join(packageDir, outDir)));
    expect(files).toEqual(tree(path.join(EXAMPLES, 'out', path.basename(config, '.yaml'))));
    expect(run(['check', file, '--out-dir', outDir])).toMatchObject({ status: 0, stdout: `${outDir}/ is up to date with ${file}\n` });
    expect(run(['lint', outDir])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^\d+ scripts? linted: 0 findings\n$/) as unknown });
  });

  it('lint without a shellcheck on the system exits 4 and says how to get one (no npm wrapper to download it)', () => {
    expect(run(['generate', path.join(EXAMPLES, 'seed.yaml'), '--out-dir', 'no-shellcheck']).status).toBe(0);
    const bin = tempDir('bash-only');
    symlinkSync(BASH, path.join(bin, 'bash'));
    expect(run(['lint', 'no-shellcheck'], { PATH: bin })).toEqual({
      status: 4,
      stdout: '',
      stderr: 'macvlan-gen: shellcheck is not installed and no npm shellcheck package is here to download it; install it (apt-get install shellcheck) or set SHELLCHECKJS_BIN to its path\n',
    });
  });

  it('is the same file when built again (the docs publish its SHA256)', async () => {
    const again = await buildStandalone();
    expect(again.content.equals(readFileSync(path.join(home, STANDALONE_NAME)))).toBe(true);
  });
});
