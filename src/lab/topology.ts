// buildTopology: a Plan -> the emulated LAN that rehearses it: one switch, one gateway router, one outside client,
// one LAN neighbour that watches, one emulated machine per node, and every endpoint that can be pinged. Pure data;
// the runner makes it real.
import type { MacvlanMode } from '../config/rules.js';
import type { NodePlan, Plan, RoutePlan } from '../plan/plan.js';
import { highestFreeHost, hostOf, isInSubnet, networkOf } from '../ip.js';
import { DEFAULT_PROFILE, type ProfileName } from './profiles.js';

/** How an endpoint's frames meet the LAN. */
export type Attachment =
  | { kind: 'parent'; node: string }
  | { kind: 'macvlan'; node: string; mode: MacvlanMode; mac?: string; sourceMacs: string[] }
  | { kind: 'lan' }
  | { kind: 'outside' };

export interface Endpoint {
  /** "node1", "node1/ns1", "gateway", "client", "watcher" */
  id: string;
  kind: 'host' | 'namespace' | 'gateway' | 'client' | 'watcher';
  node?: string;
  netns?: string;
  /** The address others ping. */
  ip: string;
  /** Interface addresses with prefix: they give the connected subnets. */
  addresses: string[];
  routes: RoutePlan[];
  defaultVia?: string;
  attachment: Attachment;
}

export interface LabNode {
  name: string;
  parent: string;
  /** Switch port of this node, in the switch namespace. */
  port: string;
  mtu: number;
  hostAddress: string;
  gateway?: string;
  profile: ProfileName;
}

export interface Topology {
  prefix: string;
  nodes: LabNode[];
  /** Addresses the gateway router owns on the LAN, with prefix. */
  gatewayLanAddresses: string[];
  outside: { subnet: string; gatewayAddress: string; clientAddress: string };
  /** What the matrix probes; the watcher is not one of them. */
  endpoints: Endpoint[];
  /** A LAN neighbour on the switch, at addresses the config does not use; absent when its subnets have none free. */
  watcher?: Endpoint;
}

const OUTSIDE_CANDIDATES = [
  { subnet: '10.8.0.0/16', gatewayAddress: '10.8.0.1/16', clientAddress: '10.8.0.241/16' },
  { subnet: '198.18.0.0/24', gatewayAddress: '198.18.0.1/24', clientAddress: '198.18.0.241/24' },
  { subnet: '100.127.255.0/24', gatewayAddress: '100.127.255.1/24', clientAddress: '100.127.255.241/24' },
];

const overlaps = (a: string, b: string): boolean => isInSubnet(hostOf(networkOf(a)), b) || isInSubnet(hostOf(networkOf(b)), a);

function usedSubnets(plan: Plan): string[] {
  return plan.nodes.flatMap((node) => [
    node.hostAddress,
    ...node.namespaces.flatMap((ns) => [ns.address, ...ns.routes.map((route) => route.to)]),
    ...(node.hostShim?.routes.map((route) => route.to) ?? []),
  ]);
}

/** The gateway router answers at every gateway address the config names, with the prefix of the subnet it serves. */
function gatewayLanAddresses(plan: Plan): string[] {
  const byAddress = new Map<string, string>();
  for (const node of plan.nodes) {
    if (node.gateway) byAddress.set(node.gateway, `${node.gateway}/${node.hostAddress.split('/')[1] ?? '32'}`);
    for (const ns of node.namespaces) {
      if (ns.gateway && !byAddress.has(ns.gateway)) byAddress.set(ns.gateway, `${ns.gateway}/${ns.address.split('/')[1] ?? '32'}`);
    }
  }
  return [...byAddress.values()];
}

function nodeEndpoints(node: NodePlan): Endpoint[] {
  const shim = node.hostShim;
  const host: Endpoint = {
    id: node.name,
    kind: 'host',
    node: node.name,
    ip: node.hostIp,
    addresses: [node.hostAddress],
    routes: shim?.routes ?? [],
    ...(node.gateway !== undefined && { defaultVia: node.gateway }),
    attachment: shim
      ? { kind: 'macvlan', node: node.name, mode: shim.mode, sourceMacs: [], ...(shim.mac !== undefined && { mac: shim.mac }) }
      : { kind: 'parent', node: node.name },
  };
  const namespaces = node.namespaces.map(
    (ns): Endpoint => ({
      id: `${node.name}/${ns.name}`,
      kind: 'namespace',
      node: node.name,
      netns: ns.name,
      ip: hostOf(ns.address),
      addresses: [ns.address],
      routes: ns.routes,
      ...(ns.gateway !== undefined && { defaultVia: ns.gateway }),
      attachment: { kind: 'macvlan', node: node.name, mode: ns.mode, sourceMacs: ns.sourceMacs, ...(ns.mac !== undefined && { mac: ns.mac }) },
    }),
  );
  return [host, ...namespaces];
}

/**
 * One address in each LAN subnet (the widest, where subnets nest) that nothing in the config uses: the highest free
 * host address, so that a neighbour there never takes an address a node, namespace, gateway or route names.
 */
function watcherAddresses(plan: Plan, lanAddresses: string[]): string[] {
  const connected = [...lanAddresses, ...plan.nodes.flatMap((node) => [node.hostAddress, ...node.namespaces.map((ns) => ns.address)])];
  const subnets = [...new Set(connected.map(networkOf))];
  const prefixOf = (cidr: string): number => Number(cidr.split('/')[1]);
  const widest = subnets.filter((subnet) => !subnets.some((other) => prefixOf(other) < prefixOf(subnet) && isInSubnet(hostOf(subnet), other)));
  const taken = new Set([
    ...connected.map(hostOf),
    ...plan.nodes.flatMap((node) => [
      ...node.namespaces.flatMap((ns) => ns.routes.map((route) => route.via)),
      ...(node.hostShim ? [...node.hostShim.routes.map((route) => route.via), ...node.hostShim.probes] : []),
    ]),
  ]);
  return widest.flatMap((subnet) => {
    const free = highestFreeHost(subnet, taken);
    return free === undefined ? [] : [`${free}/${prefixOf(subnet)}`];
  });
}

const endpointsOf = (plan: Plan, lab: { gateway: Endpoint; client: Endpoint }): Endpoint[] => [...plan.nodes.flatMap(nodeEndpoints), lab.gateway, lab.client];

export function buildTopology(plan: Plan, prefix: string, profiles: Record<string, ProfileName> = {}): Topology {
  const used = usedSubnets(plan);
  const outside = OUTSIDE_CANDIDATES.find((candidate) => !used.some((subnet) => overlaps(subnet, candidate.subnet)));
  if (!outside) throw new Error('the config uses every subnet the lab could put its outside client in');
  const lanAddresses = gatewayLanAddresses(plan);
  const nodes = plan.nodes.map(
    (node, i): LabNode => ({
      name: node.name,
      parent: node.parent,
      port: `p${i}`,
      mtu: Math.max(1500, ...node.namespaces.map((ns) => ns.mtu ?? 0), node.hostShim?.mtu ?? 0),
      hostAddress: node.hostAddress,
      ...(node.gateway !== undefined && { gateway: node.gateway }),
      profile: profiles[node.name] ?? DEFAULT_PROFILE,
    }),
  );
  const gateway: Endpoint = {
    id: 'gateway',
    kind: 'gateway',
    ip: hostOf(lanAddresses[0] ?? outside.gatewayAddress),
    addresses: [...lanAddresses, outside.gatewayAddress],
    routes: [],
    attachment: { kind: 'lan' },
  };
  const client: Endpoint = {
    id: 'client',
    kind: 'client',
    ip: hostOf(outside.clientAddress),
    addresses: [outside.clientAddress],
    routes: [],
    defaultVia: hostOf(outside.gatewayAddress),
    attachment: { kind: 'outside' },
  };
  const watching = watcherAddresses(plan, lanAddresses);
  const watcher: Endpoint | undefined =
    watching.length === 0 ? undefined : { id: 'watcher', kind: 'watcher', ip: hostOf(watching[0] ?? ''), addresses: watching, routes: [], attachment: { kind: 'lan' } };
  return {
    prefix,
    nodes,
    gatewayLanAddresses: lanAddresses,
    outside,
    endpoints: endpointsOf(plan, { gateway, client }),
    ...(watcher !== undefined && { watcher }),
  };
}

/**
 * The lab as one stage of a rollout sees it: the endpoints of the stage's plan, on the machines, switch, gateway
 * and outside client of the lab (built once, from the whole config, for every stage).
 */
export function stageTopology(lab: Topology, plan: Plan): Topology {
  const gateway = lab.endpoints.find((endpoint) => endpoint.kind === 'gateway');
  const client = lab.endpoints.find((endpoint) => endpoint.kind === 'client');
  if (!gateway || !client) throw new Error(`lab ${lab.prefix} has no gateway or client endpoint`);
  return { ...lab, endpoints: endpointsOf(plan, { gateway, client }) };
}
