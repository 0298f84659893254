// The quick reader (js-yaml) against the yaml library: where it reads a config at all, the data and the position of
// every key and value must be the yaml library's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { fastLoad } from '../../src/config/fast-load.js';
import { loadConfig } from '../../src/config/load.js';
import { InvalidConfigError } from '../../src/config/diagnostics.js';
import type { PathSegment } from '../../src/config/diagnostics.js';
import { fleetConfig } from '../../bench/fleet.js';
import { BASE, problemsOf } from '../support/config.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Every path below a node with the yaml library's offset of its value and (under a map) of its key. */
function positions(node: unknown, path: PathSegment[] = [], found: { path: PathSegment[]; value?: number; key?: number }[] = []) {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const at = [...path, String(pair.key.value)];
      found.push({ path: at, key: (pair.key as Node).range?.[0], value: (pair.value as Node | null)?.range?.[0] });
      positions(pair.value, at, found);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      found.push({ path: [...path, index], value: (item as Node).range?.[0] });
      positions(item, [...path, index], found);
    });
  }
  return found;
}

/** Whether the quick reader took the text, and whether it had to ask the yaml library where some node starts. */
function expectSameAsYamlLibrary(text: string, name: string): { taken: boolean; asked: boolean } {
  const document = parseDocument(text, { uniqueKeys: false, strict: true });
  let asked = false;
  // The yaml library's locator, which the real loader hands over, stands here as -2: where it is asked, not what it says.
  const quick = fastLoad(text, () => {
    asked = true;
    return () => -2;
  });
  if (!quick) return { taken: false, asked };
  expect(document.errors, `${name}: the quick reader took what the yaml library refuses`).toEqual([]);
  expect(quick.data, name).toEqual(document.toJS({ maxAliasCount: 100 }));
  for (const { path, value, key } of positions(document.contents)) {
    expect([-2, value], `${name}: value at ${path.join('.')}`).toContain(quick.locate(path, 'value'));
    if (key !== undefined) expect([-2, key], `${name}: key at ${path.join('.')}`).toContain(quick.locate(path, 'key'));
  }
  expect([-2, document.contents?.range?.[0]], `${name}: the top`).toContain(quick.locate([], 'value'));
  return { taken: true, asked };
}

const configsInRepo = execFileSync('git', ['ls-files', '*.yaml', '*.yml'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

describe('the quick reader reads as the yaml library does', () => {
  it.each(configsInRepo)('%s', (file) => {
    const read = expectSameAsYamlLibrary(readFileSync(`${ROOT}/${file}`, 'utf8'), file);
    // Every example config is taken and located from the events alone; of the other YAML files, the playbooks have
    // aliases, one file has only comments, and the CI workflows have empty values.
    if (file.startsWith('examples/') || file.includes('/downloads/')) expect(read).toEqual({ taken: true, asked: false });
  });

  it('a fleet as the benchmark writes it, with a shim on every node', () => {
    expect(expectSameAsYamlLibrary(fleetConfig({ nodes: 30, namespaces: 5, shim: true }), 'fleet')).toEqual({ taken: true, asked: false });
  });

  // Plain scalars of every core-schema type and near-misses of them, as values; each read as the yaml library reads it.
  const spellings = [
    '~', 'null', 'Null', 'NULL', 'nUll', 'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'no', 'on', 'off', 'y', 'n',
    '0', '-0', '+0', '007', '0o17', '0O17', '+0o17', '0x1F', '0X1F', '-0x1F', '0b101', '1_000', '1e3', '1E3', '-1.5e-3', '1.', '.5',
    '+.5', '.', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '.NAN', '-.nan', '12:30', '2001-12-14', '10.0.0.1', '10.0.0.1/24', 'fe80::1',
    '9007199254740993', '1e400', "'7'", '"7"', '"a\\tb\\u00e9"', "'it''s'", 'a b  c', 'a#b', 'a?', '"#"',
  ];
  it.each(spellings)('value %s', (spelling) => {
    expect(expectSameAsYamlLibrary(`version: 1\nvalue: ${spelling}\nlist:\n  - ${spelling}\nflow: [${spelling}]\n`, spelling)).toEqual({ taken: true, asked: false });
  });

  it.each([
    ['block scalars', 'a: |\n  one\n  two\nb: >-\n  folded\n  text\n\nc: |+\n  kept\n\nd: 1\n'],
    ['plain scalar over lines', 'a: one\n  two\n  three\nb: x\n'],
    ['quoted over lines', 'a: "one\n  two"\nb: \'three\n\n  four\'\n'],
    ['empty values', 'a:\nb: \nc: {}\nd: []\ne:\n  - \n  -\n'],
    ['comments everywhere', '# top\na: 1 # one\n# between\nb:\n  # inside\n  c: 2\n'],
    ['a document start marker', '---\na: 1\n'],
    ['flow collections', 'a: {b: 1, c: [2, {d: 3}], "e": \'f\'}\ng: [ ]\n'],
    ['sequences of maps', 'a:\n  - b: 1\n    c: 2\n  - d: 3\n'],
    ['a list at the top', '- 1\n- b: 2\n'],
    ['a scalar document', 'just text\n'],
    ['CRLF line ends', 'a: 1\r\nb:\r\n  c: "x"\r\n'],
    ['byte order mark', '\uFEFFa: 1\nb: 2\n'],
    ['anchors without aliases', 'a: &x 1\nb: &y\n  c: 2\n'],
    ['explicit string tags', 'a: !!str 7\nb: !!str\n'],
    ['quoted keys', '"a b": 1\n\'c\': 2\n"7": 3\n'],
    ['indented sequences', 'a:\n- 1\n- 2\nb:\n    - x\n'],
    ['tabs after values', 'a: 1\t\nb:\t2\n'],
    ['an explicit key', '? a\n: 1\n'],
    ['anchors and tags on the first key of a map', '&x a: 1\nb:\n  &y c: 2\nd:\n  !!str e: 3\nf:\n  - &z g: 4\n'],
    ['__proto__ keys', '__proto__: 1\na:\n  __proto__:\n    b: 2\n'],
  ])('%s', (name, text) => {
    expect(expectSameAsYamlLibrary(text, name).taken).toBe(true);
  });

  // Each left to the yaml library: it names or types these differently, or reports them.
  it.each([
    ['an alias', 'a: &x 1\nb: *x\n'],
    ['a null key', '~: 1\n'],
    ['an empty key', ': 1\n'],
    ['a number key', '7: a\n'],
    ['a boolean key', 'true: a\n'],
    ['a list as key', '[a]: 1\n'],
    ['a merge key with an alias', 'a: &x {b: 1}\nc:\n  <<: *x\n'],
    ['an explicit int tag', 'a: !!int "7"\n'],
    ['a custom tag', 'a: !thing 7\n'],
    ['a %YAML 1.1 directive', '%YAML 1.1\n---\na: yes\n'],
    ['two documents', 'a: 1\n---\nb: 2\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a syntax error', 'a: [1\nb: 2\n'],
    ['tab indentation', 'a:\n\tb: 1\n'],
    ['an empty document', '# nothing\n'],
    // Found in review: each read differently by js-yaml, or taken by js-yaml and refused by the yaml library.
    ['a %YAML 1.1 directive after a byte order mark', '\uFEFF%YAML 1.1\n---\nmode: 0755\nenabled: on\n'],
    ['a carriage return ending a comment', 'a: [1, 2] #c\rb: 3\n'],
    ['a carriage return in a list', '- a\r- b\n'],
    ['carriage returns as line ends', 'a: 1\rb: 2\r'],
    ['a \\U escape beyond Unicode', 'a: "\\U00110000"\n'],
    ['an implicit key over 1,024 characters', `${'k'.repeat(1030)}: 1\n`],
    ['a document end marker first', '...\na: 1\n'],
    ['two document end markers', 'a: 1\n...\n...\n'],
    ['a document end marker', '---\na: 1\n...\n'],
  ])('%s', (name, text) => {
    expect(fastLoad(text, () => () => undefined), name).toBeUndefined();
    // ...and the loader reads it as the yaml library does, or reports what the yaml library reports.
    const document = parseDocument(text, { strict: true });
    const read = () => loadConfig(text, 'test.yaml').data;
    if (document.errors.length > 0 || document.contents === null) expect(read).toThrow(InvalidConfigError);
    else expect(read()).toEqual(document.toJS({ maxAliasCount: 100 }));
  });
});

describe('positions the quick reader leaves to the yaml library', () => {
  it.each([
    ['an empty value', BASE.replace('gateway: 10.0.0.1', 'gateway:'), 'error: nodes.node1.gateway (line 6:13): expected a string or a list, got null'],
    ['a block scalar', BASE.replace('parent: eth0', 'parent: |\n      eth0'), 'error: nodes.node1.parent (line 4:13): "eth0\\n" contains "\\n", which is not allowed; use letters, digits, "_", "." and "-"'],
  ])('%s', (_name, text, expected) => {
    expect(fastLoad(text, () => () => undefined)).toBeDefined();
    expect(problemsOf(text)).toEqual([expected]);
  });
});
