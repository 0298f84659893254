// loadConfig: config text -> plain data plus the source map that lets every later problem name its line and column.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { InvalidConfigError, type Diagnostic, type PathSegment } from './diagnostics.js';

export type ConfigFormat = 'yaml' | 'json';

export interface LoadedConfig {
  sourceName: string;
  format: ConfigFormat;
  data: unknown;
  document: Document.Parsed;
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

export function loadConfig(text: string, sourceName: string): LoadedConfig {
  const format = detectFormat(sourceName, text);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, strict: true });

  const problems: Diagnostic[] = document.errors.map((error) => {
    const position = error.linePos?.[0];
    const firstLine = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    const message = error.code === 'DUPLICATE_KEY' ? `duplicate key: ${firstLine}` : `${format === 'json' ? 'JSON' : 'YAML'} syntax error: ${firstLine}`;
    return { severity: 'error', path: [], message, ...(position && { line: position.line, column: position.col }) };
  });
  if (problems.length === 0 && format === 'json') {
    const jsonProblem = jsonSyntaxProblem(text, lineCounter);
    if (jsonProblem) problems.push(jsonProblem);
  }
  if (problems.length > 0) throw new InvalidConfigError(sourceName, problems);

  const data: unknown = document.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    throw new InvalidConfigError(sourceName, [
      { severity: 'error', path: [], message: 'the config is empty; it needs at least "version: 1" and "nodes" (see `macvlan-gen init`)' },
    ]);
  }
  return { sourceName, format, data, document, lineCounter };
}

function positionOf(loaded: LoadedConfig, node: Node | null | undefined): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = loaded.lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * Where a path points in the source: the value, or with `key` the key naming it. When the path runs past what the
 * source has (a missing key), the deepest existing node stands in for it.
 */
export function locate(loaded: LoadedConfig, path: readonly PathSegment[], target: 'value' | 'key' = 'value'): Position | undefined {
  let node: unknown = loaded.document.contents;
  let keyNode: Node | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return positionOf(loaded, node);
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      keyNode = undefined;
      node = node.items[segment];
    } else {
      return positionOf(loaded, node as Node);
    }
  }
  return positionOf(loaded, target === 'key' && keyNode ? keyNode : (node as Node));
}
