// The edges of generate, check and validate: what the output directory may hold, file-system failures, hostile configs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CLI, EXAMPLES, runCli, tempDir } from '../support/cli.js';

const SEED = path.join(EXAMPLES, 'seed.yaml');
let cwd: string;
beforeEach(() => {
  cwd = tempDir('edges');
});

const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));

describe('generate and check at the edges of the output directory', () => {
  it('exits 4 naming a directory where a script goes, even with --force, and writes nothing', () => {
    mkdirSync(path.join(cwd, 'out', 'node1.sh'), { recursive: true });
    const run = runCli(['generate', SEED, '--force'], cwd);
    expect(run.status).toBe(4);
    expect(run.stderr).toBe(
      'macvlan-gen: out/node1.sh is a directory, not a regular file; macvlan-gen neither follows nor replaces such entries: move it away or choose another --out-dir\n',
    );
    expect(readdirSync(path.join(cwd, 'out'))).toEqual(['node1.sh']);
  });

  it('exits 4 on a dangling link where a script goes and leaves the link as it is', () => {
    mkdirSync(path.join(cwd, 'out'));
    symlinkSync('../planted.sh', path.join(cwd, 'out', 'node2.sh'));
    const run = runCli(['generate', SEED, '--force'], cwd);
    expect(run.status).toBe(4);
    expect(run.stderr).toContain('macvlan-gen: out/node2.sh is a symbolic link, not a regular file;');
    expect(readdirSync(path.join(cwd, 'out'))).toEqual(['node2.sh']);
    expect(readlinkSync(path.join(cwd, 'out', 'node2.sh'))).toBe('../planted.sh');
    expect(existsSync(path.join(cwd, 'planted.sh'))).toBe(false);
  });

  it('check skips links and directories it does not need, and exits 4 on one where a script is expected', () => {
    expect(runCli(['generate', SEED], cwd).status).toBe(0);
    symlinkSync('nowhere', path.join(cwd, 'out', 'latest'));
    mkdirSync(path.join(cwd, 'out', 'archive'));
    expect(runCli(['check', SEED], cwd)).toMatchObject({ status: 0, stdout: `out/ is up to date with ${SEED}\n`, stderr: '' });
    const script = path.join(cwd, 'out', 'node2.sh');
    renameSync(script, path.join(cwd, 'node2.sh'));
    symlinkSync('../node2.sh', script);
    const run = runCli(['check', SEED], cwd);
    expect(run.status).toBe(4);
    expect(run.stderr).toBe(
      'macvlan-gen: out/node2.sh is a symbolic link, not a regular file; macvlan-gen neither follows nor replaces such entries: move it away or choose another --out-dir\n',
    );
  });

  it('deletes no file a forged manifest names, not even the config next to it', () => {
    copyFileSync(SEED, path.join(cwd, 'fleet.yaml'));
    writeFileSync(path.join(cwd, 'notes.sh'), 'mine\n');
    const manifest = { generator: 'macvlan-gen', files: ['fleet.yaml', 'notes.sh', 'manifest.json'], nodes: [{ name: 'notes', file: 'notes.sh', sha256: '0'.repeat(64) }] };
    writeFileSync(path.join(cwd, 'manifest.json'), JSON.stringify(manifest));
    const run = runCli(['generate', 'fleet.yaml', '--out-dir', '.'], cwd);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('wrote 4 files to ./: node1.sh, node2.sh, SHA256SUMS, manifest.json\nleft files no longer generated that differ from what macvlan-gen wrote: notes.sh\n');
    expect(readdirSync(cwd).sort()).toEqual(['SHA256SUMS', 'fleet.yaml', 'manifest.json', 'node1.sh', 'node2.sh', 'notes.sh']);
    expect(readFileSync(path.join(cwd, 'notes.sh'), 'utf8')).toBe('mine\n');
  });

  it('turns a failed write into exit 4 naming the file, and leaves the earlier output whole', () => {
    expect(runCli(['generate', SEED], cwd).status).toBe(0);
    const config = path.join(cwd, 'fleet.yaml');
    writeFileSync(config, readFileSync(SEED, 'utf8').replace('192.168.179.14/16', '192.168.179.15/16'));
    const before = snapshot(path.join(cwd, 'out'));
    // File size limit 40 KiB: node1.sh (larger) cannot be written; SIGXFSZ ignored so that write() fails with EFBIG.
    const run = spawnSync('bash', ['-c', 'trap "" XFSZ; ulimit -f 40; exec "$@"', 'bash', process.execPath, CLI, 'generate', config], { cwd, encoding: 'utf8' });
    expect(run.status).toBe(4);
    expect(run.stderr).toBe('macvlan-gen: out/node1.sh: cannot write it: file too large (nothing in the directory was changed)\n');
    expect(snapshot(path.join(cwd, 'out'))).toEqual(before);
  });

  it('follows the output directory itself when it is a link, as the operator named it', () => {
    mkdirSync(path.join(cwd, 'real'));
    symlinkSync('real', path.join(cwd, 'out'));
    expect(runCli(['generate', SEED], cwd).status).toBe(0);
    expect(lstatSync(path.join(cwd, 'out')).isSymbolicLink()).toBe(true);
    expect(readdirSync(path.join(cwd, 'real')).sort()).toEqual(['SHA256SUMS', 'manifest.json', 'node1.sh', 'node2.sh']);
  });
});

describe('config edges', () => {
  it('exits 3 on a YAML alias bomb, naming the anchor, and writes nothing', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) levels.push(`${name}: &${name} [${Array(10).fill(`*${'abcdefg'[i] ?? ''}`).join(', ')}]`);
    writeFileSync(path.join(cwd, 'bomb.yaml'), `version: 1\nnodes: {}\n${levels.join('\n')}\n`);
    const run = runCli(['generate', 'bomb.yaml'], cwd);
    expect(run.status).toBe(3);
    expect(run.stderr).toBe(
      [
        'bomb.yaml: error: (top level) (line 4:7): too many aliases: the 10 uses of anchor &b expand to 110 aliased nodes, more than the 100 allowed (the limit that stops YAML alias bombs); write the values out instead',
        'bomb.yaml: invalid config: 1 error, 0 warnings; nothing was written',
        '',
      ].join('\n'),
    );
    expect(readdirSync(cwd)).toEqual(['bomb.yaml']);
  });

  it('prints the first 100 problems and how many more; --json lists every one', () => {
    const namespaces = Array.from({ length: 150 }, (_, i) => `      ns${i}: { interface: mv${i}, address: 10.0.0.3/33 }\n`).join('');
    writeFileSync(path.join(cwd, 'many.yaml'), `version: 1\nnodes:\n  node1:\n    parent: eth0\n    address: 10.0.0.2/24\n    namespaces:\n${namespaces}`);
    const run = runCli(['validate', 'many.yaml'], cwd);
    expect(run.status).toBe(3);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(102);
    expect(lines[0]).toBe('many.yaml: error: nodes.node1.namespaces.ns0.address (line 7:39): "10.0.0.3/33" has prefix /33, must be 0-32');
    expect(lines[99]).toMatch(/^many\.yaml: error: nodes\.node1\.namespaces\.ns99\.address \(line 106:/);
    expect(lines.slice(100)).toEqual([
      'many.yaml: ... and 50 more (50 errors, 0 warnings); the first 100 are shown, --json lists all',
      'many.yaml: invalid config: 150 errors, 0 warnings; nothing was written',
    ]);
    const json = runCli(['validate', 'many.yaml', '--json'], cwd);
    expect((JSON.parse(json.stdout) as { diagnostics: unknown[] }).diagnostics).toHaveLength(150);
  });
});
