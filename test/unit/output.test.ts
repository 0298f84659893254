import { readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
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
