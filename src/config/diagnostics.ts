// A problem found in a config, tied to where it is in the source text.
import { ConfigError } from '../errors.js';

export type PathSegment = string | number;

export interface Diagnostic {
  severity: 'error' | 'warning';
  path: PathSegment[];
  message: string;
  line?: number;
  column?: number;
}

export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${segment}`)).join('');
}

/** `error: nodes.node1.parent (line 4:13): ...` — the form every config problem is printed in. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where = diagnostic.line === undefined ? '' : ` (line ${diagnostic.line}:${diagnostic.column ?? 1})`;
  return `${diagnostic.severity}: ${formatPath(diagnostic.path)}${where}: ${diagnostic.message}`;
}

export function countBySeverity(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number } {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  return { errors, warnings: diagnostics.length - errors };
}

/** A config that must not be used; carries every problem found, errors and warnings alike. */
export class InvalidConfigError extends ConfigError {
  constructor(
    readonly sourceName: string,
    readonly diagnostics: Diagnostic[],
  ) {
    const { errors, warnings } = countBySeverity(diagnostics);
    super(`${sourceName}: invalid config (${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'})`);
  }
}
