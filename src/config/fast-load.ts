// The quick way in: js-yaml's event parser, four to five times faster than the yaml library on a large fleet. It
// reads the config only where the result is the yaml library's to the letter: scalars are typed by the yaml library's
// own core-schema tests, map keys must be strings, aliases, explicit scalar tags, directives and the spellings in
// READ_OTHERWISE are refused. Whatever it refuses (every syntax error among it) goes the slow way, the yaml library,
// as before (load.ts).
import {
  constructFromEvents,
  CORE_SCHEMA,
  defineMappingTag,
  defineScalarTag,
  EVENT_ID,
  getScalarValue,
  NOT_RESOLVED,
  parseEvents,
  SCALAR_STYLE,
  type Event,
  type ScalarEvent,
} from 'js-yaml';
import { isScalar, Schema as YamlSchema, type ScalarTag } from 'yaml';
import type { PathSegment } from './diagnostics.js';

/** Where a path points, as an offset into the config text. */
export type Locator = (path: readonly PathSegment[], target: 'value' | 'key') => number | undefined;

/** The yaml library's core-schema scalar tags (null, bool, int, float), each as one js-yaml tag trying them in order. */
function coreScalarTags() {
  const groups = new Map<string, ScalarTag[]>();
  for (const tag of new YamlSchema({ schema: 'core' }).tags) {
    if ('test' in tag && tag.test) groups.set(tag.tag, [...(groups.get(tag.tag) ?? []), tag as ScalarTag]);
  }
  const refuse = () => {
    throw new Error('not the yaml library');
  };
  return [...groups].map(([tagName, tags]) =>
    defineScalarTag(tagName, {
      implicit: true,
      // An explicit `!!int "7"` is left to the yaml library: NOT_RESOLVED makes js-yaml refuse the config.
      resolve: (source, isExplicit) => {
        if (isExplicit) return NOT_RESOLVED;
        const tag = tags.find((candidate) => candidate.test?.test(source));
        if (!tag) return NOT_RESOLVED;
        const value = tag.resolve(source, refuse, {});
        return isScalar(value) ? value.value : value;
      },
      identify: () => false,
    }),
  );
}

/** Maps as plain objects with string keys only: any other key is refused (js-yaml would name a null key "null", the yaml library ""). */
const stringKeyedMap = defineMappingTag('tag:yaml.org,2002:map', {
  create: (): Record<string, unknown> => ({}),
  addPair: (map, key, value) => {
    if (typeof key !== 'string') return 'a key that is not a string';
    if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, configurable: true, writable: true });
    else map[key] = value;
    return '';
  },
  has: (map, key) => typeof key === 'string' && Object.hasOwn(map, key),
  keys: (map) => Object.keys(map),
  get: (map, key) => (typeof key === 'string' && Object.hasOwn(map, key) ? map[key] : null),
  identify: () => false,
});

const SCHEMA = CORE_SCHEMA.withTags(...coreScalarTags(), stringKeyedMap);

/** The yaml library refuses an implicit key longer than this, so js-yaml reads no text with a line longer than it. */
const MAX_IMPLICIT_KEY = 1024;

/** Line by line with indexOf: a regular expression of a line's length tries that length at every character. */
function hasLineLongerThan(text: string, length: number): boolean {
  for (let start = 0, end = 0; start < text.length; start = end + 1) {
    end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end - start > length) return true;
  }
  return false;
}

/** Text the two libraries read differently, or only js-yaml takes: the yaml library reads it (found in review). */
const READ_OTHERWISE = [
  // A directive (after a byte order mark too): %YAML 1.1 switches the yaml library to the 1.1 schema (yes/no booleans).
  /^\uFEFF?%/m,
  // A carriage return alone ends a line for js-yaml, not for the yaml library (a comment would end there).
  /\r(?!\n)/,
  // js-yaml takes a \U escape beyond U+10FFFF; the yaml library refuses it.
  /\\U/,
  // A document end marker: where it stands alone before a document, or twice, the yaml library refuses it.
  /^\.\.\.(?:\s|$)/m,
];

/**
 * The config as data with a way to locate paths in it, or undefined where the yaml library must read it. The few
 * nodes whose start the events do not give as the yaml library has it (an empty value, a block scalar) are located by
 * `slowLocator`, made on first need.
 */
export function fastLoad(text: string, slowLocator: () => Locator): { data: unknown; locate: Locator } | undefined {
  if (READ_OTHERWISE.some((pattern) => pattern.test(text)) || hasLineLongerThan(text, MAX_IMPLICIT_KEY)) return undefined;
  let events: Event[];
  let documents: unknown[];
  try {
    events = parseEvents(text, {});
    documents = constructFromEvents(events, { source: text, schema: SCHEMA, maxAliases: 0 });
  } catch {
    return undefined;
  }
  if (documents.length !== 1 || documents[0] === null || documents[0] === undefined) return undefined;
  return { data: documents[0], locate: eventLocator(text, events, slowLocator) };
}

const POP = EVENT_ID.POP;

/** Offsets of paths, from the event stream: each collection's closing event found once, each map's keys once per map. */
function eventLocator(text: string, events: Event[], slowLocator: () => Locator): Locator {
  let slow: Locator | undefined;
  let closers: Int32Array | undefined;
  const children = new Map<number, Map<string, { key: number; value: number }> | number[]>();

  function closerOf(index: number): number {
    if (!closers) {
      const found = new Int32Array(events.length);
      const open: number[] = [];
      events.forEach((event, i) => {
        if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) open.push(i);
        else if (event.type === POP) found[open.pop() ?? 0] = i;
      });
      closers = found;
    }
    return closers[index] ?? index;
  }
  const after = (index: number): number => {
    const type = events[index]?.type;
    return type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE ? closerOf(index) + 1 : index + 1;
  };
  function itemsOf(index: number): Map<string, { key: number; value: number }> | number[] {
    let items = children.get(index);
    if (items) return items;
    const end = closerOf(index);
    if (events[index]?.type === EVENT_ID.MAPPING) {
      const pairs = new Map<string, { key: number; value: number }>();
      for (let key = index + 1; key < end; ) {
        const value = after(key);
        const name = getScalarValue(text, events[key] as ScalarEvent);
        if (!pairs.has(name)) pairs.set(name, { key, value });
        key = after(value);
      }
      items = pairs;
    } else {
      items = [];
      for (let item = index + 1; item < end; item = after(item)) items.push(item);
    }
    children.set(index, items);
    return items;
  }
  // Where the yaml library starts a node: a quoted scalar at its quote; empty and block scalars are left to it.
  function offsetOf(index: number): number | undefined {
    const event = events[index];
    // js-yaml starts a block map whose first key has an anchor or tag at those; the yaml library at the key.
    if (event?.type === EVENT_ID.MAPPING || event?.type === EVENT_ID.SEQUENCE) return text[event.start] === '&' || text[event.start] === '!' ? undefined : event.start;
    if (event?.type !== EVENT_ID.SCALAR || event.valueStart < 0) return undefined;
    if (event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED) return event.valueStart - 1;
    return event.style === SCALAR_STYLE.PLAIN ? event.valueStart : undefined;
  }
  function found(index: number, path: readonly PathSegment[], target: 'value' | 'key'): number | undefined {
    const offset = offsetOf(index);
    if (offset !== undefined) return offset;
    slow ??= slowLocator();
    return slow(path, target);
  }

  return (path, target) => {
    let node = 1;
    let keyNode: number | undefined;
    for (const segment of path) {
      const type = events[node]?.type;
      if (type !== EVENT_ID.MAPPING && type !== EVENT_ID.SEQUENCE) return found(node, path, target);
      const items = itemsOf(node);
      const next = items instanceof Map ? items.get(String(segment)) : typeof segment === 'number' ? items[segment] : undefined;
      if (next === undefined) return found(node, path, target);
      if (typeof next === 'number') {
        keyNode = undefined;
        node = next;
      } else {
        keyNode = next.key;
        node = next.value;
      }
    }
    return found(target === 'key' && keyNode !== undefined ? keyNode : node, path, target);
  };
}
