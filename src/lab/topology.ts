// buildTopology: a Plan -> the emulated LAN that rehearses it: one switch, one gateway router, one outside client,
// one emulated machine per node, and every endpoint that can be pinged. Pure data; the runner makes it real.
import type { MacvlanMode } from '../config/rules.js';
import type { NodePlan, Plan, RoutePlan } from '../plan/plan.js';
import { hostOf, isInSubnet, networkOf } from '../ipv4.js';

/** How an endpoint's frames meet the LAN. */
export type Attachment =
  | { kind: 'parent'; node: string }
  | { kind: 'macvlan'; node: string; mode: MacvlanMode; mac?: string; sourceMacs: string[] }
  | { kind: 'lan' }
  | { kind: 'outside' };

export interface Endpoint {
  /** "node1", "node1/ns1", "gateway", "client" */
  id: string;
  kind: 'host' | 'namespace' | 'gateway' | 'client';
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
}

export interface Topology {
  prefix: string;
  nodes: LabNode[];
  /** Addresses the gateway router owns on the LAN, with prefix. */
  gatewayLanAddresses: string[];
  outside: { subnet: string; gatewayAddress: string; clientAddress: string };
  endpoints: Endpoint[];
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

export function buildTopology(plan: Plan, prefix: string): Topology {
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
  return {
    prefix,
    nodes,
    gatewayLanAddresses: lanAddresses,
    outside,
    endpoints: [...plan.nodes.flatMap(nodeEndpoints), gateway, client],
  };
}
