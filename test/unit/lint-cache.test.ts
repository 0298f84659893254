import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEP_UNUSED_MS, LintCache, lintCacheDir, lintCacheKey, type ScriptFinding } from '../../src/lint/cache.js';
import { tempDir } from '../support/cli.js';

const FINDING: ScriptFinding = { line: 2, column: 6, level: 'info', code: 'SC2086', message: 'Double quote to prevent globbing and word splitting.' };
const DAY_MS = 24 * 60 * 60 * 1000;

function cacheIn(dir = path.join(tempDir('lint-cache'), 'lint'), now = Date.now): { cache: LintCache; warnings: string[]; dir: string } {
  const warnings: string[] = [];
  return { cache: new LintCache(dir, (message) => warnings.push(message), now), warnings, dir };
}

const setMtime = (file: string, ms: number): void => utimesSync(file, ms / 1000, ms / 1000);

describe('lintCacheDir', () => {
  it('takes MACVLAN_GEN_CACHE_DIR, then an absolute XDG_CACHE_HOME, then ~/.cache', () => {
    expect(lintCacheDir({ MACVLAN_GEN_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c/lint');
    expect(lintCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/macvlan-gen/lint');
    expect(lintCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(homedir(), '.cache', 'macvlan-gen', 'lint'));
    expect(lintCacheDir({})).toBe(path.join(homedir(), '.cache', 'macvlan-gen', 'lint'));
  });
});

describe('lintCacheKey', () => {
  it('changes with the script, and with the tools and options that lint it', () => {
    const script = Buffer.from('#!/usr/bin/env bash\necho "$1"\n');
    const key = lintCacheKey('shellcheck 0.9.0', script);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(lintCacheKey('shellcheck 0.9.0', Buffer.from(script))).toBe(key);
    expect(lintCacheKey('shellcheck 0.10.0', script)).not.toBe(key);
    expect(lintCacheKey('shellcheck 0.9.0', Buffer.from('#!/usr/bin/env bash\necho "$2"\n'))).not.toBe(key);
  });
});

describe('LintCache', () => {
  it('misses, then gives back what was written, without the file path', () => {
    const { cache, warnings, dir } = cacheIn();
    expect(cache.read('a')).toBeUndefined();
    cache.write('a', [FINDING]);
    cache.write('b', []);
    expect(cache.read('a')).toEqual([FINDING]);
    expect(cache.read('b')).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
    expect(readFileSync(path.join(dir, 'a.json'), 'utf8')).not.toContain('file');
    expect(warnings).toEqual([]);
  });

  it('takes a corrupt or misshapen entry for a miss, and keeps only the fields of a finding', () => {
    const { cache, dir } = cacheIn();
    cache.write('a', [FINDING]);
    for (const text of ['{"findings":[', '', 'null', '{"findings":{}}', '{"findings":[{"line":"2"}]}', '\u0000\u0001']) {
      writeFileSync(path.join(dir, 'a.json'), text);
      expect(cache.read('a'), JSON.stringify(text)).toBeUndefined();
    }
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ findings: [{ ...FINDING, file: '/elsewhere.sh' }] }));
    expect(cache.read('a')).toEqual([FINDING]);
  });

  it('warns once when the directory cannot be made, then lints on without it', () => {
    const blocker = path.join(tempDir('lint-cache'), 'a-file');
    writeFileSync(blocker, '');
    const { cache, warnings } = cacheIn(path.join(blocker, 'lint'));
    cache.write('a', [FINDING]);
    cache.write('b', []);
    cache.prune();
    expect(cache.read('a')).toBeUndefined();
    expect(warnings).toEqual([`lint cache ${path.join(blocker, 'lint')} cannot be written (ENOTDIR); linting without keeping results (--no-cache skips the cache)`]);
  });

  it('leaves no temporary file behind', () => {
    const { cache, dir } = cacheIn();
    for (const key of ['a', 'b', 'a']) cache.write(key, [FINDING]);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
  });

  it('prunes at most once a day: entries unused for 30 days and temporary files older than a day', () => {
    let now = Date.now();
    const { cache, dir } = cacheIn(undefined, () => now);
    for (const key of ['fresh', 'old', 'used']) cache.write(key, []);
    writeFileSync(path.join(dir, '.x.1234.tmp'), '');
    setMtime(path.join(dir, 'old.json'), now - KEEP_UNUSED_MS - DAY_MS);
    setMtime(path.join(dir, 'used.json'), now - KEEP_UNUSED_MS - DAY_MS);
    setMtime(path.join(dir, '.x.1234.tmp'), now - 2 * DAY_MS);
    expect(cache.read('used')).toEqual([]);
    cache.prune();
    expect(readdirSync(dir).sort()).toEqual(['.pruned', 'fresh.json', 'used.json']);
    setMtime(path.join(dir, 'fresh.json'), now - KEEP_UNUSED_MS - DAY_MS);
    cache.prune();
    expect(existsSync(path.join(dir, 'fresh.json'))).toBe(true);
    now += DAY_MS + 1;
    cache.prune();
    expect(existsSync(path.join(dir, 'fresh.json'))).toBe(false);
  });

  it('refreshes an entry it reads at most once a day', () => {
    const now = Date.now();
    const { cache, dir } = cacheIn(undefined, () => now);
    cache.write('a', []);
    const file = path.join(dir, 'a.json');
    setMtime(file, now - DAY_MS / 2);
    cache.read('a');
    expect(statSync(file).mtimeMs).toBeCloseTo(now - DAY_MS / 2, -3);
    setMtime(file, now - 3 * DAY_MS);
    cache.read('a');
    expect(statSync(file).mtimeMs).toBeCloseTo(now, -3);
  });
});
