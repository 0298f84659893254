// Helpers to validate config text in tests and read back the printed form of each problem.
import { formatDiagnostic, InvalidConfigError } from '../../src/config/diagnostics.js';
import { validateText } from '../../src/pipeline.js';

/** Every problem (errors and warnings) the validator reports, formatted as the CLI prints them. */
export function problemsOf(text: string, options: { strict?: boolean; sourceName?: string } = {}): string[] {
  try {
    return validateText(text, options.sourceName ?? 'test.yaml', options).warnings.map(formatDiagnostic);
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.diagnostics.map(formatDiagnostic);
    throw error;
  }
}

/** A valid one-node config with one namespace; `extra` lines are indented under the node. */
export const BASE = `version: 1
nodes:
  node1:
    parent: eth0
    address: 10.0.0.2/24
    gateway: 10.0.0.1
    namespaces:
      ns1:
        interface: mac1
        address: 10.0.0.3/24
`;
