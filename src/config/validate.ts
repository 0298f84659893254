// validateConfig: loaded config -> typed Config. Collects every problem first: shape (schema), then cross-field rules.
import type { z } from 'zod';
import { configJsonSchema, shapeLayers, type Config, type NamespaceConfig, type NodeConfig } from './schema.js';
import { InvalidConfigError, type Diagnostic, type PathSegment } from './diagnostics.js';
import { locate, type LoadedConfig } from './load.js';
import { checkSemantics, type Finding } from './semantics.js';
import { checkNetnsName, checkNodeName } from './rules.js';

export interface ValidationResult {
  config: Config;
  /** Warnings only: any error throws. */
  warnings: Diagnostic[];
}

type JsonSchema = { properties?: Record<string, JsonSchema>; additionalProperties?: JsonSchema | boolean; items?: JsonSchema };

const jsonSchema = configJsonSchema() as JsonSchema;

function allowedKeysAt(path: readonly PathSegment[]): string[] {
  let schema: JsonSchema | undefined = jsonSchema;
  for (const segment of path) {
    if (!schema) return [];
    if (typeof segment === 'number') schema = schema.items;
    else schema = schema.properties?.[segment] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
  }
  return Object.keys(schema?.properties ?? {});
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const scored = candidates
    .map((candidate) => ({ candidate, distance: candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, candidate) }))
    .filter(({ distance }) => distance <= Math.max(2, Math.floor(word.length / 3)))
    .sort((x, y) => x.distance - y.distance);
  return scored[0]?.candidate;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = { object: 'a map', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false' };

function shapeFindings(issue: z.core.$ZodIssue, data: unknown): Finding[] {
  const path = issue.path.filter((segment): segment is PathSegment => typeof segment !== 'symbol');
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path);
      return issue.keys.map((key) => {
        const suggestion = didYouMean(key, allowed);
        const hint = suggestion ? `did you mean "${suggestion}"?` : `allowed here: ${allowed.join(', ')}`;
        return { path: [...path, key], at: 'key', message: `unknown key "${key}"; ${hint}` };
      });
    }
    case 'invalid_type': {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) {
        const key = path[path.length - 1];
        return [{ path: path.slice(0, -1), at: 'value', message: `missing required key "${String(key)}" (${expected})` }];
      }
      if (issue.expected === 'int') return [{ path, message: `${describeValue(value)} must be a whole number` }];
      return [{ path, message: `expected ${expected}, got ${describeValue(value)}` }];
    }
    case 'invalid_union': {
      // A scalar or a list: the branch that matches the value's type has the problem worth naming.
      const relevant = issue.errors.find((branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
      if (relevant) return relevant.flatMap((inner) => shapeFindings({ ...inner, path: [...issue.path, ...inner.path] }, data));
      const expected = issue.errors.map((branch) => (branch[0]?.code === 'invalid_type' ? (TYPE_NAMES[branch[0].expected] ?? branch[0].expected) : '')).join(' or ');
      if (value === undefined) return [{ path: path.slice(0, -1), at: 'value', message: `missing required key "${String(path[path.length - 1])}" (${expected})` }];
      return [{ path, message: `expected ${expected}, got ${describeValue(value)}` }];
    }
    case 'invalid_value': {
      if (value === undefined) return [{ path: path.slice(0, -1), message: `missing required key "${String(path[path.length - 1])}"` }];
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return [{ path, message: `${describeValue(value)} is not allowed; use ${issue.values.length === 1 ? allowed : `one of ${allowed}`}` }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? 'at least' : 'at most';
      const limit = String(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      if (Array.isArray(value)) return [{ path, message: `must have ${bound} ${limit} item(s), has ${value.length}` }];
      return [{ path, message: `${describeValue(value)} must be ${bound} ${limit}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

const entriesOf = (value: unknown): [string, unknown][] =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];

interface Shape {
  /** Only when the shape is right. */
  config?: Config;
  /** Problems with the shape, with paths of the whole config. */
  problems: Finding[];
  /** Problems with node and namespace names, read from the raw keys (zod drops a `__proto__` key without a word). */
  names: Finding[];
}

/** The config checked a layer at a time (see shapeLayers) and put back together from the parts. */
function checkShape(data: unknown): Shape {
  const problems: Finding[] = [];
  const names: Finding[] = [];
  const check = <T>(schema: z.ZodType<T>, value: unknown, prefix: PathSegment[]): T | undefined => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) problems.push(...shapeFindings({ ...issue, path: [...prefix, ...issue.path] }, data));
    return undefined;
  };
  const addNameProblem = (problem: string | undefined, path: PathSegment[]): void => {
    if (problem) names.push({ path, at: 'key', message: problem });
  };
  const top = check(shapeLayers.top, data, []);
  const nodes: [string, NodeConfig][] = [];
  for (const [nodeName, rawNode] of entriesOf(valueAt(data, ['nodes']))) {
    const nodePath = ['nodes', nodeName];
    addNameProblem(checkNodeName(nodeName), nodePath);
    const node = check(shapeLayers.node, rawNode, nodePath);
    const namespaces: [string, NamespaceConfig][] = [];
    for (const [name, rawNamespace] of entriesOf(valueAt(rawNode, ['namespaces']))) {
      const namespacePath = [...nodePath, 'namespaces', name];
      const netnsProblem = checkNetnsName(name);
      addNameProblem(netnsProblem && `namespace name: ${netnsProblem}`, namespacePath);
      const namespace = check(shapeLayers.namespace, rawNamespace, namespacePath);
      if (namespace) namespaces.push([name, namespace]);
    }
    if (!node) continue;
    const { namespaces: present, ...rest } = node;
    nodes.push([nodeName, { ...rest, ...(present && { namespaces: Object.fromEntries(namespaces) }) }]);
  }
  const shapeIsRight = top !== undefined && problems.length === 0;
  return { problems, names, ...(shapeIsRight && { config: { ...top, nodes: Object.fromEntries(nodes) } }) };
}

function toDiagnostic(loaded: LoadedConfig, finding: Finding): Diagnostic {
  const position = locate(loaded, finding.path, finding.at ?? 'value');
  return {
    severity: finding.severity ?? 'error',
    path: finding.path,
    message: finding.message,
    ...(position && { line: position.line, column: position.column }),
  };
}

const bySourcePosition = (a: Diagnostic, b: Diagnostic): number => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);

export function validateConfig(loaded: LoadedConfig, options: { strict?: boolean } = {}): ValidationResult {
  const { config, problems, names } = checkShape(loaded.data);
  const findings = [...names, ...(config ? checkSemantics(config) : problems)];
  const diagnostics = findings.map((finding) => toDiagnostic(loaded, finding)).sort(bySourcePosition);
  const failing = diagnostics.some((d) => d.severity === 'error') || (options.strict === true && diagnostics.length > 0);
  if (!config || failing) {
    const shown = options.strict ? diagnostics.map((d) => ({ ...d, severity: 'error' as const })) : diagnostics;
    throw new InvalidConfigError(loaded.sourceName, shown);
  }
  return { config, warnings: diagnostics };
}
