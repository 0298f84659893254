// labStages: the config as the seed tells its story — first without namespace default routes and with the host
// address still on the parent, then with the default routes, then after the host migration.
import type { Config, NodeConfig } from '../config/schema.js';

export interface Stage {
  name: string;
  description: string;
  config: Config;
}

function mapNodes(config: Config, change: (node: NodeConfig) => NodeConfig): Config {
  return { ...config, nodes: Object.fromEntries(Object.entries(config.nodes).map(([name, node]) => [name, change(node)])) };
}

const withoutShim = ({ hostShim: _shim, ...node }: NodeConfig): NodeConfig => node;

const withoutNamespaceGateways = (node: NodeConfig): NodeConfig =>
  node.namespaces === undefined
    ? node
    : { ...node, namespaces: Object.fromEntries(Object.entries(node.namespaces).map(([name, { gateway: _gateway, ...ns }]) => [name, ns])) };

/** The lab as built, before any script runs: every node with its host address on the parent, nothing else. */
export const labBaseline = (config: Config): Config => mapNodes(config, ({ namespaces: _namespaces, ...node }) => withoutShim(node));

export function labStages(config: Config, staged: boolean): Stage[] {
  const nodes = Object.values(config.nodes);
  const hasNamespaceGateways = nodes.some((node) => Object.values(node.namespaces ?? {}).some((ns) => ns.gateway !== undefined));
  const hasShim = nodes.some((node) => node.hostShim !== undefined);
  if (!staged || (!hasNamespaceGateways && !hasShim)) return [{ name: 'as-configured', description: 'everything the config asks for', config }];
  const stages: Stage[] = [
    hasNamespaceGateways
      ? { name: 'no-default-routes', description: 'namespaces without default routes; host address on the parent', config: mapNodes(config, (node) => withoutNamespaceGateways(withoutShim(node))) }
      : { name: 'host-on-parent', description: 'host address still on the parent', config: mapNodes(config, withoutShim) },
  ];
  if (hasNamespaceGateways) stages.push({ name: 'default-routes', description: 'after adding the namespace default routes', config: mapNodes(config, withoutShim) });
  if (hasShim) stages.push(shimStage(config, nodes));
  return stages;
}

/** The last stage: the host address moved onto the shim, or (hostShim.address) a shim with an address of its own beside it. */
function shimStage(config: Config, nodes: NodeConfig[]): Stage {
  const keeping = nodes.filter((node) => node.hostShim?.address !== undefined).length;
  const moving = nodes.filter((node) => node.hostShim !== undefined).length - keeping;
  const added = 'adding a macvlan shim with an address of its own (the host address stays on the parent)';
  if (moving === 0) return { name: 'host-shim-added', description: `after ${added}`, config };
  const description = 'after moving the host address onto the macvlan shim';
  return { name: 'host-migrated', description: keeping === 0 ? description : `${description}, or ${added}`, config };
}
