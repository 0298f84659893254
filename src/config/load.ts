// loadConfig: config text -> plain data plus the source map that lets every later problem name its line and column.
// The quick reader (fast-load.ts) takes what it can read as the yaml library would; the rest is read here, by it.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { toJS, type ToJSContext } from 'yaml/util';
import { InvalidConfigError, type Diagnostic, type PathSegment } from './diagnostics.js';
import { fastLoad, type Locator } from './fast-load.js';

export type ConfigFormat = 'yaml' | 'json';

export interface LoadedConfig {
  sourceName: string;
  format: ConfigFormat;
  data: unknown;
  /** Where a path points in the source (see `locate`). */
  locator: Locator;
  lineCounter: LineCounter;
}

export interface Position {
  line: number;
  column: number;
}

export function detectFormat(sourceName: string, text: string): ConfigFormat {
  if (/\.json$/i.test(sourceName)) return 'json';
  if (/\.ya?ml$/i.test(sourceName)) return 'yaml';
  return /^\s*\{/.test(text) ? 'json' : 'yaml';
}

function jsonSyntaxProblem(text: string, lineCounter: LineCounter): Diagnostic | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = /position (\d+)/.exec(message)?.[1];
    const position = offset === undefined ? undefined : lineCounter.linePos(Number(offset));
    return {
      severity: 'error',
      path: [],
      message: `JSON syntax error: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      ...(position && { line: position.line, column: position.col }),
    };
  }
}

/** Every key that repeats an earlier key of the same map, found with one set per map. */
function duplicateKeys(document: Document.Parsed, lineCounter: LineCounter): Diagnostic[] {
  const duplicates: Diagnostic[] = [];
  visit(document, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          const position = key.range ? lineCounter.linePos(key.range[0]) : undefined;
          duplicates.push({ severity: 'error', path: [], message: 'duplicate key: Map keys must be unique', ...(position && { line: position.line, column: position.col }) });
        }
        seen.add(key.value);
      }
    },
  });
  return duplicates;
}

/** How many aliased nodes a config may expand to; the yaml library stops an alias bomb at this count. */
const MAX_ALIAS_COUNT = 100;

/** Why alias expansion stopped: the anchor that grew past the limit, or else the first alias with no anchor before it. */
function aliasProblem(document: Document.Parsed, context: ToJSContext, lineCounter: LineCounter, error: ReferenceError): Diagnostic {
  for (const [node, { count, aliasCount }] of context.anchors) {
    if (count * aliasCount <= MAX_ALIAS_COUNT) continue;
    const position = node.range ? lineCounter.linePos(node.range[0]) : undefined;
    return {
      severity: 'error',
      path: [],
      message: `too many aliases: the ${count} uses of anchor &${node.anchor ?? ''} expand to ${count * aliasCount} aliased nodes, more than the ${MAX_ALIAS_COUNT} allowed (the limit that stops YAML alias bombs); write the values out instead`,
      ...(position && { line: position.line, column: position.col }),
    };
  }
  const anchors = new Set<string>();
  let dangling: Diagnostic | undefined;
  visit(document, {
    Node(_key, node) {
      if (isAlias(node) && !anchors.has(node.source)) {
        const position = node.range ? lineCounter.linePos(node.range[0]) : undefined;
        dangling = { severity: 'error', path: [], message: `alias *${node.source} has no anchor &${node.source} before it`, ...(position && { line: position.line, column: position.col }) };
        return visit.BREAK;
      }
      if (!isAlias(node) && node.anchor !== undefined) anchors.add(node.anchor);
      return undefined;
    },
  });
  return dangling ?? { severity: 'error', path: [], message: `YAML aliases could not be expanded: ${error.message}` };
}

/** The document as plain data; a context of our own keeps the library's alias counts readable when it stops. */
function toPlainData(document: Document.Parsed, lineCounter: LineCounter, sourceName: string): unknown {
  const context: ToJSContext = { anchors: new Map(), doc: document, keep: true, mapAsMap: false, mapKeyWarned: false, maxAliasCount: MAX_ALIAS_COUNT };
  try {
    return toJS(document.contents, '', context) as unknown;
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new InvalidConfigError(sourceName, [aliasProblem(document, context, lineCounter, error)]);
  }
}

/** Line starts for offsets found without the yaml library's lexer, counted as it counts them. */
function countLines(text: string): LineCounter {
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', end + 1)) lineCounter.addNewLine(end + 1);
  return lineCounter;
}

/** A JSON config must also be JSON to JSON.parse: the quick reader takes it only then (YAML would take more). */
const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

export function loadConfig(text: string, sourceName: string): LoadedConfig {
  const format = detectFormat(sourceName, text);
  const slowLocator = () => documentLocator(parseDocument(text, { uniqueKeys: false, strict: true }));
  const quick = format === 'json' && !isJson(text) ? undefined : fastLoad(text, slowLocator);
  if (quick) return { sourceName, format, data: quick.data, locator: quick.locate, lineCounter: countLines(text) };
  const lineCounter = new LineCounter();
  // The library's own duplicate-key check compares each key with every earlier one: quadratic on a long map.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true, strict: true });

  const problems: Diagnostic[] = document.errors.map((error) => {
    const position = error.linePos?.[0];
    const firstLine = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    return { severity: 'error', path: [], message: `${format === 'json' ? 'JSON' : 'YAML'} syntax error: ${firstLine}`, ...(position && { line: position.line, column: position.col }) };
  });
  problems.push(...duplicateKeys(document, lineCounter));
  if (problems.length === 0 && format === 'json') {
    const jsonProblem = jsonSyntaxProblem(text, lineCounter);
    if (jsonProblem) problems.push(jsonProblem);
  }
  if (problems.length > 0) throw new InvalidConfigError(sourceName, problems);

  const data = toPlainData(document, lineCounter, sourceName);
  if (data === null || data === undefined) {
    throw new InvalidConfigError(sourceName, [
      { severity: 'error', path: [], message: 'the config is empty; it needs at least "version: 1" and "nodes" (see `macvlan-gen init`)' },
    ]);
  }
  return { sourceName, format, data, locator: documentLocator(document), lineCounter };
}

const offsetOf = (node: Node | null | undefined): number | undefined => node?.range?.[0];

/** Each map's pairs by key, built once per map: a config with many findings would otherwise scan a map per finding. */
const pairIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = pairIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item);
    }
    pairIndexes.set(map, index);
  }
  return index;
}

/** Offsets of paths in a document the yaml library read. When a path runs past it, the deepest existing node stands in. */
function documentLocator(document: Document.Parsed): Locator {
  return (path, target) => {
    let node: unknown = document.contents;
    let keyNode: Node | undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = pairsByKey(node).get(String(segment));
        if (!pair) return offsetOf(node);
        keyNode = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        keyNode = undefined;
        node = node.items[segment];
      } else {
        return offsetOf(node as Node);
      }
    }
    return offsetOf(target === 'key' && keyNode ? keyNode : (node as Node));
  };
}

/**
 * Where a path points in the source: the value, or with `key` the key naming it. When the path runs past what the
 * source has (a missing key), the deepest existing node stands in for it.
 */
export function locate(loaded: LoadedConfig, path: readonly PathSegment[], target: 'value' | 'key' = 'value'): Position | undefined {
  const offset = loaded.locator(path, target);
  if (offset === undefined) return undefined;
  const { line, col } = loaded.lineCounter.linePos(offset);
  return { line, column: col };
}
