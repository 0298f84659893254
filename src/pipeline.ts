// The stages composed: config text -> validated config -> plan -> scripts -> output files.
import { loadConfig } from './config/load.js';
import { validateConfig } from './config/validate.js';
import type { Diagnostic } from './config/diagnostics.js';
import type { Config } from './config/schema.js';
import { buildPlan, type Plan } from './plan/plan.js';
import { createRenderer, type NodeRenderer } from './render/render.js';
import { assembleOutput, CHECKSUMS_FILE, DATA_MODE, MANIFEST_FILE, outputFiles, sha256, type OutputFile } from './output/assemble.js';
import { GENERATOR, loadPlaybooks, loadTemplates, PACKAGE_NAME, VERSION } from './package-info.js';
import { ansibleFiles, ansibleHostProblems, ansibleNameProblems, type AnsibleHosts } from './ansible/ansible.js';
import { ConfigError, UsageError } from './errors.js';
import { topologySvg } from './diagram/topology.js';
import { DIAGRAM_FILE } from './diagram/names.js';

export interface Rendered {
  plan: Plan;
  scripts: { node: string; content: string }[];
}

export interface Generated extends Rendered {
  config: Config;
  warnings: Diagnostic[];
  files: OutputFile[];
}

export interface GeneratedStream {
  warnings: Diagnostic[];
  /** The names of every file the stream yields, known before any is rendered. */
  names: string[];
  /** Scripts rendered one at a time, then SHA256SUMS, then manifest.json. */
  files: Iterable<OutputFile>;
}

let renderer: NodeRenderer | undefined;

export function validateText(text: string, sourceName: string, options: { strict?: boolean } = {}) {
  return validateConfig(loadConfig(text, sourceName), options);
}

function* renderNodes(plan: Plan, configSha256: string): Generator<{ node: string; content: string }> {
  renderer ??= createRenderer(loadTemplates());
  for (const node of plan.nodes) yield { node: node.name, content: renderer(node, { generator: GENERATOR, configSha256 }) };
}

/** Plans and renders a validated config; `configSha256` names the config text the scripts came from. */
export function renderConfig(config: Config, configSha256: string): Rendered {
  const plan = buildPlan(config);
  return { plan, scripts: [...renderNodes(plan, configSha256)] };
}

export interface GenerateOptions {
  strict?: boolean;
  /** Also the Ansible inventory and playbooks (`generate --ansible`). */
  ansible?: boolean;
  /** `--ansible-host NODE=ADDRESS`: where the inventory reaches those nodes, over the config's ssh.host and the host address. */
  ansibleHosts?: AnsibleHosts;
  /** Also the topology picture, as `macvlan-gen diagram` draws it (`generate --diagram`). */
  diagram?: boolean;
}

/** The Ansible files for a plan, or none; a node name Ansible reserves is refused (exit 3), a wrong --ansible-host too (exit 2). */
function ansibleOutput(plan: Plan, configSha256: string, sourceName: string, options: GenerateOptions): OutputFile[] {
  const hosts = options.ansibleHosts ?? new Map<string, string>();
  if (options.ansible !== true) {
    if (hosts.size > 0) throw new UsageError('--ansible-host sets an address in the Ansible inventory: give --ansible too');
    return [];
  }
  const problems = ansibleNameProblems(plan);
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `${sourceName}: ${problem}`).join('\n'));
  const hostProblems = ansibleHostProblems(plan, hosts);
  if (hostProblems.length > 0) throw new UsageError(hostProblems.join('\n'));
  return ansibleFiles(plan, loadPlaybooks(), { generator: GENERATOR, configSha256 }, hosts);
}

/** The files a flag adds beside the scripts: the Ansible files, then the topology picture. */
function extraOutput(plan: Plan, configSha256: string, sourceName: string, options: GenerateOptions): OutputFile[] {
  const diagram = options.diagram === true ? [{ name: DIAGRAM_FILE, content: topologySvg(plan), mode: DATA_MODE }] : [];
  return [...ansibleOutput(plan, configSha256, sourceName, options), ...diagram];
}

/** What `generate` writes, rendered lazily so that a large fleet never sits in memory whole. */
export function generateStream(text: string, sourceName: string, options: GenerateOptions = {}): GeneratedStream {
  const { config, warnings } = validateText(text, sourceName, options);
  const configSha256 = sha256(text);
  const plan = buildPlan(config);
  const others = extraOutput(plan, configSha256, sourceName, options);
  const names = [...plan.nodes.map((node) => `${node.name}.sh`), ...others.map((file) => file.name), CHECKSUMS_FILE, MANIFEST_FILE];
  return { warnings, names, files: outputFiles(renderNodes(plan, configSha256), { name: PACKAGE_NAME, version: VERSION, configSha256 }, others) };
}

export function generateFromText(text: string, sourceName: string, options: GenerateOptions = {}): Generated {
  const { config, warnings } = validateText(text, sourceName, options);
  const configSha256 = sha256(text);
  const rendered = renderConfig(config, configSha256);
  const others = extraOutput(rendered.plan, configSha256, sourceName, options);
  const files = assembleOutput(rendered.scripts, { name: PACKAGE_NAME, version: VERSION, configSha256 }, others);
  return { config, warnings, files, ...rendered };
}
