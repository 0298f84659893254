// The stages composed: config text -> validated config -> plan -> scripts -> output files.
import { loadConfig } from './config/load.js';
import { validateConfig } from './config/validate.js';
import type { Diagnostic } from './config/diagnostics.js';
import type { Config } from './config/schema.js';
import { buildPlan, type Plan } from './plan/plan.js';
import { createRenderer, type NodeRenderer } from './render/render.js';
import { assembleOutput, sha256, type OutputFile } from './output/assemble.js';
import { GENERATOR, loadTemplates, PACKAGE_NAME, VERSION } from './package-info.js';

export interface Generated {
  config: Config;
  plan: Plan;
  warnings: Diagnostic[];
  files: OutputFile[];
}

let renderer: NodeRenderer | undefined;

export function validateText(text: string, sourceName: string, options: { strict?: boolean } = {}) {
  return validateConfig(loadConfig(text, sourceName), options);
}

export function generateFromText(text: string, sourceName: string, options: { strict?: boolean } = {}): Generated {
  const { config, warnings } = validateText(text, sourceName, options);
  const plan = buildPlan(config);
  const configSha256 = sha256(text);
  renderer ??= createRenderer(loadTemplates());
  const render = renderer;
  const scripts = plan.nodes.map((node) => ({ node: node.name, content: render(node, { generator: GENERATOR, configSha256 }) }));
  const files = assembleOutput(scripts, { name: PACKAGE_NAME, version: VERSION, configSha256 });
  return { config, plan, warnings, files };
}
