import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tempDir } from '../support/cli.js';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assembleOutput, sha256, type OutputFile } from '../../src/output/assemble.js';
import { writeOutput, readOutputDir, previousOutputFiles } from '../../src/output/write.js';
import { compareOutput } from '../../src/output/compare.js';
import { EnvironmentError } from '../../src/errors.js';

const meta = { name: 'macvlan-gen', version: '9.9.9', configSha256: 'c0ffee' };
const write = (files: OutputFile[], options: { force?: boolean } = {}) => writeOutput(dir, files.map((file) => file.name), files, options);
const filesFor = (...nodes: string[]) => assembleOutput(nodes.map((node) => ({ node, content: `#!/usr/bin/env bash\n# ${node}\n` })), meta);

let dir: string;
beforeEach(() => {
  dir = tempDir('output');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('assembleOutput', () => {
  it('lists every script, a manifest and SHA256SUMS, deterministically', () => {
    const files = filesFor('b', 'a');
    expect(files.map((file) => file.name)).toEqual(['b.sh', 'a.sh', 'SHA256SUMS', 'manifest.json']);
    expect(filesFor('b', 'a')).toEqual(files);
    const sums = files.find((file) => file.name === 'SHA256SUMS')?.content ?? '';
    expect(sums.split('\n')[0]).toBe(`${sha256('#!/usr/bin/env bash\n# a\n')}  a.sh`);
    const manifest = JSON.parse(files.find((file) => file.name === 'manifest.json')?.content ?? '{}') as { files: string[]; version: string };
    expect(manifest.files).toEqual(['SHA256SUMS', 'a.sh', 'b.sh', 'manifest.json']);
    expect(manifest.version).toBe('9.9.9');
  });
});

describe('assembleOutput with extra files', () => {
  const extra = (name: string): OutputFile => ({ name, content: `${name}\n`, mode: 0o644 });
  const manifestOf = (files: OutputFile[]) => JSON.parse(files.find((file) => file.name === 'manifest.json')?.content ?? '{}') as Record<string, unknown>;

  it('lists the Ansible files and the picture, each under its own key, in SHA256SUMS and the manifest', () => {
    const scripts = [{ node: 'a', content: '#!/usr/bin/env bash\n' }];
    const files = assembleOutput(scripts, meta, [extra('inventory.yml'), extra('topology.svg')]);
    const manifest = manifestOf(files);
    expect(Object.keys(manifest)).toEqual(['generator', 'version', 'configSha256', 'nodes', 'ansible', 'diagram', 'files']);
    expect(manifest['ansible']).toEqual([{ file: 'inventory.yml', sha256: sha256('inventory.yml\n') }]);
    expect(manifest['diagram']).toEqual([{ file: 'topology.svg', sha256: sha256('topology.svg\n') }]);
    expect(files.find((file) => file.name === 'SHA256SUMS')?.content).toContain(`${sha256('topology.svg\n')}  topology.svg\n`);
    expect(Object.keys(manifestOf(assembleOutput(scripts, meta, [extra('topology.svg')])))).not.toContain('ansible');
    expect(Object.keys(manifestOf(assembleOutput(scripts, meta)))).toEqual(['generator', 'version', 'configSha256', 'nodes', 'files']);
  });

  it('refuses a file no manifest key lists', () => {
    expect(() => assembleOutput([], meta, [extra('notes.txt')])).toThrow('no manifest key for notes.txt');
  });
});

describe('writeOutput', () => {
  it('writes scripts 0755 and data 0644', () => {
    write(filesFor('a'));
    expect(statSync(path.join(dir, 'a.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, 'SHA256SUMS')).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'a.sh', 'manifest.json']);
  });

  it('removes files an earlier run wrote that are no longer generated, and nothing else', () => {
    write(filesFor('a', 'b'));
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const result = write(filesFor('a'));
    expect(result.removed).toEqual(['b.sh']);
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'a.sh', 'manifest.json', 'notes.txt']);
  });

  it('refuses to replace a file it did not write, before writing anything', () => {
    writeFileSync(path.join(dir, 'a.sh'), 'hand written');
    expect(() => write(filesFor('a', 'b'))).toThrow(EnvironmentError);
    expect(readFileSync(path.join(dir, 'a.sh'), 'utf8')).toBe('hand written');
    expect(existsSync(path.join(dir, 'b.sh'))).toBe(false);
    write(filesFor('a'), { force: true });
    expect(readFileSync(path.join(dir, 'a.sh'), 'utf8')).toContain('# a');
  });

  it('ignores manifest entries that could point outside the directory', () => {
    const outside = path.join(dir, '..', `${path.basename(dir)}-victim`);
    writeFileSync(outside, 'keep');
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ generator: 'macvlan-gen', files: ['manifest.json', `../${path.basename(outside)}`] }));
    expect([...previousOutputFiles(dir)]).toEqual(['manifest.json']);
    write(filesFor('a'));
    expect(readFileSync(outside, 'utf8')).toBe('keep');
    rmSync(outside);
  });
});

describe('writeOutput at the file-system edges', () => {
  const victimFile = (): string => {
    const victim = path.join(tempDir('victim'), 'victim');
    writeFileSync(victim, 'keep', { mode: 0o600 });
    return victim;
  };

  it('writes through fresh, unpredictable names, never through a link planted at the old temporary name', () => {
    const victim = victimFile();
    const files = filesFor('a');
    for (const file of files) symlinkSync(victim, path.join(dir, `.${file.name}.${process.pid}.tmp`));
    write(files);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(statSync(victim).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'a.sh'), 'utf8')).toContain('# a');
    for (const file of files) expect(readlinkSync(path.join(dir, `.${file.name}.${process.pid}.tmp`))).toBe(victim);
  });

  it('refuses, even with force and before writing anything, entries that are not regular files where an output file goes', () => {
    const victim = victimFile();
    mkdirSync(path.join(dir, 'a.sh'));
    symlinkSync(victim, path.join(dir, 'SHA256SUMS'));
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'manifest.json'));
    expect(() => write(filesFor('a', 'b'), { force: true })).toThrow(
      new EnvironmentError(
        `${dir}/a.sh is a directory, ${dir}/SHA256SUMS is a symbolic link, ${dir}/manifest.json is a symbolic link, not regular files; macvlan-gen neither follows nor replaces such entries: move them away or choose another --out-dir`,
      ),
    );
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'a.sh', 'manifest.json']);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(existsSync(path.join(dir, 'nowhere'))).toBe(false);
  });

  it('removes only scripts an earlier run could have written and that still hold what it wrote, whatever its manifest says', () => {
    write(filesFor('a', 'b', 'c'));
    writeFileSync(path.join(dir, 'c.sh'), '#!/usr/bin/env bash\n# c, edited by hand\n');
    for (const name of ['notes.txt', 'fleet.yaml', 'Upper.sh', '.hidden.sh']) writeFileSync(path.join(dir, name), 'mine');
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: string[]; nodes: { name: string; file: string; sha256: string }[] };
    const forged = ['notes.txt', 'fleet.yaml', 'Upper.sh', '.hidden.sh'];
    manifest.files.push(...forged);
    manifest.nodes.push(...forged.map((file) => ({ name: file.replace(/\.sh$/, ''), file, sha256: sha256('mine') })));
    writeFileSync(manifestPath, JSON.stringify(manifest));
    expect([...previousOutputFiles(dir)].sort()).toEqual(['SHA256SUMS', 'a.sh', 'b.sh', 'c.sh', 'manifest.json']);
    const result = write(filesFor('a'));
    expect(result).toEqual({ written: ['SHA256SUMS', 'a.sh', 'manifest.json'], removed: ['b.sh'], kept: ['c.sh'] });
    expect(readdirSync(dir).sort()).toEqual(['.hidden.sh', 'SHA256SUMS', 'Upper.sh', 'a.sh', 'c.sh', 'fleet.yaml', 'manifest.json', 'notes.txt']);
  });

  it('never removes a link or a directory that a manifest names as its stale script', () => {
    const victim = victimFile();
    write(filesFor('a', 'b', 'c'));
    rmSync(path.join(dir, 'b.sh'));
    symlinkSync(victim, path.join(dir, 'b.sh'));
    rmSync(path.join(dir, 'c.sh'));
    mkdirSync(path.join(dir, 'c.sh'));
    expect(write(filesFor('a'))).toMatchObject({ removed: [], kept: ['b.sh', 'c.sh'] });
    expect(lstatSync(path.join(dir, 'b.sh')).isSymbolicLink()).toBe(true);
    expect(lstatSync(path.join(dir, 'c.sh')).isDirectory()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
  });

  it('leaves the directory as it was when producing the files fails midway', () => {
    write(filesFor('a', 'b'));
    const before = readOutputDir(dir);
    const [first] = filesFor('a').map((file) => ({ ...file, content: `${file.content}# changed\n` }));
    function* failing(): Generator<OutputFile> {
      if (first) yield first;
      throw new Error('render failed');
    }
    expect(() => writeOutput(dir, ['a.sh', 'b.sh', 'SHA256SUMS', 'manifest.json'], failing())).toThrow('render failed');
    expect(readOutputDir(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'a.sh', 'b.sh', 'manifest.json']);
  });
});

describe('readOutputDir', () => {
  it('reads regular files only, skipping links and directories, and refuses them where an output file is expected', () => {
    write(filesFor('a'));
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
    symlinkSync(path.join(dir, 'a.sh'), path.join(dir, 'b.sh'));
    mkdirSync(path.join(dir, 'sub'));
    expect([...readOutputDir(dir).keys()].sort()).toEqual(['SHA256SUMS', 'a.sh', 'manifest.json']);
    expect(() => readOutputDir(dir, ['a.sh', 'b.sh'])).toThrow(
      new EnvironmentError(`${dir}/b.sh is a symbolic link, not a regular file; macvlan-gen neither follows nor replaces such entries: move it away or choose another --out-dir`),
    );
  });
});

describe('compareOutput', () => {
  it('reports nothing for a fresh write, and each kind of drift otherwise', () => {
    write(filesFor('a', 'b'));
    expect(compareOutput(filesFor('a', 'b'), readOutputDir(dir), previousOutputFiles(dir))).toEqual([]);
    writeFileSync(path.join(dir, 'a.sh'), '#!/usr/bin/env bash\n# edited\n', { mode: 0o755 });
    rmSync(path.join(dir, 'SHA256SUMS'));
    const drift = compareOutput(filesFor('a'), readOutputDir(dir), previousOutputFiles(dir));
    expect(drift.map((item) => [item.file, item.kind])).toEqual([
      ['a.sh', 'stale'],
      ['SHA256SUMS', 'missing'],
      ['manifest.json', 'stale'],
      ['b.sh', 'extra'],
    ]);
    expect(drift[0]).toMatchObject({ line: 2, expected: '# a', found: '# edited' });
  });
});
