// The stages composed: config text -> validated config -> plan -> scripts -> output files.
import { loadConfig } from './config/load.js';
import { validateConfig } from './config/validate.js';
import type { Diagnostic } from './config/diagnostics.js';
import type { Config } from './config/schema.js';
import { buildPlan, type Plan } from './plan/plan.js';
import { createRenderer, type NodeRenderer } from './render/render.js';
import { assembleOutput, sha256, type OutputFile } from './output/assemble.js';
import { GENERATOR, loadTemplates, PACKAGE_NAME, VERSION } from './package-info.js';

export interface Rendered {
  plan: Plan;
  scripts: { node: string; content: string }[];
}

export interface Generated extends Rendered {
  config: Config;
  warnings: Diagnostic[];
  files: OutputFile[];
}

let renderer: NodeRenderer | undefined;

export function validateText(text: string, sourceName: string, options: { strict?: boolean } = {}) {
  return validateConfig(loadConfig(text, sourceName), options);
}

/** Plans and renders a validated config; `configSha256` names the config text the scripts came from. */
export function renderConfig(config: Config, configSha256: string): Rendered {
  const plan = buildPlan(config);
  renderer ??= createRenderer(loadTemplates());
  const render = renderer;
  return { plan, scripts: plan.nodes.map((node) => ({ node: node.name, content: render(node, { generator: GENERATOR, configSha256 }) })) };
}

export function generateFromText(text: string, sourceName: string, options: { strict?: boolean } = {}): Generated {
  const { config, warnings } = validateText(text, sourceName, options);
  const configSha256 = sha256(text);
  const rendered = renderConfig(config, configSha256);
  const files = assembleOutput(rendered.scripts, { name: PACKAGE_NAME, version: VERSION, configSha256 });
  return { config, warnings, files, ...rendered };
}
