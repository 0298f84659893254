// buildTopology: a Plan -> the emulated LAN that rehearses it: one switch, one gateway router, one outside client,
// one LAN neighbour that watches, one emulated machine per node, and every endpoint that can be pinged, in IPv4 and,
// when the config has any IPv6, in IPv6 too. Pure data; the runner makes it real.
import type { MacvlanMode } from '../config/rules.js';
import { namespaceAddresses, type AddressShimPlan, type NodePlan, type Plan, type RoutePlan } from '../plan/plan.js';
import { familyOf, highestFreeHost, hostOf, isInSubnet, isLinkLocal6, networkOf, type Family } from '../ip.js';
import { DEFAULT_PROFILE, type ProfileName } from './profiles.js';

/** How an endpoint's frames meet the LAN. */
export type Attachment =
  | { kind: 'parent'; node: string }
  | { kind: 'macvlan'; node: string; mode: MacvlanMode; mac?: string; sourceMacs: string[] }
  /** Shares its parent's MAC; the mode (l2, l3, l3s) is the parent's. */
  | { kind: 'ipvlan'; node: string; mode: MacvlanMode }
  | { kind: 'lan' }
  | { kind: 'outside' };

export interface Endpoint {
  /** "node1", "node1/ns1", "gateway", "gateway.50", "client", "watcher" */
  id: string;
  /** A vlan-gateway is the gateway router's interface in one VLAN: the same machine, pinged at that VLAN's address. */
  kind: 'host' | 'namespace' | 'gateway' | 'vlan-gateway' | 'client' | 'watcher';
  node?: string;
  netns?: string;
  /** The address others ping. */
  ip: string;
  /** Dual stack: the IPv6 address others ping. */
  ip6?: string;
  /** Interface addresses with prefix, of both families: they give the connected subnets. */
  addresses: string[];
  /** Routes of both families. */
  routes: RoutePlan[];
  defaultVia?: string;
  defaultVia6?: string;
  attachment: Attachment;
  /** The 802.1Q VLAN its interface is on; absent: the untagged LAN. */
  vlan?: number;
  /** The gateway router's addresses (with prefix) on VLAN sub-interfaces, with their VLAN; the others are untagged. */
  addressVlans?: Record<string, number>;
  /** A host shim with an address of its own: the host reaches these addresses through it, from its addresses. */
  shim?: ShimThrough;
}

/** The VLAN an endpoint's interface towards `ip` is on (the one whose subnet holds it), undefined for the untagged LAN. */
export function vlanTowards(endpoint: Endpoint, ip: string): number | undefined {
  if (endpoint.vlan !== undefined || endpoint.addressVlans === undefined) return endpoint.vlan;
  const cidr = endpoint.addresses.find((candidate) => hostOf(candidate) === ip) ?? endpoint.addresses.find((candidate) => isInSubnet(ip, candidate));
  return cidr === undefined ? undefined : endpoint.addressVlans[cidr];
}

/** One VLAN the lab's switch carries to every node port as a tagged VLAN, with the gateway router's addresses in it. */
export interface LabVlan {
  id: number;
  gatewayAddresses: string[];
}

export interface ShimThrough {
  interface: string;
  /** The shim's own addresses, with prefix (/32, /128). */
  addresses: string[];
  /** The namespace addresses the host routes through the shim. */
  routesTo: string[];
  attachment: Attachment;
}

/** The address others ping in a family, if the endpoint has one. */
export const addressOf = (endpoint: Endpoint, family: Family): string | undefined => (family === 4 ? endpoint.ip : endpoint.ip6);

export const defaultViaOf = (endpoint: Endpoint, family: Family): string | undefined => (family === 4 ? endpoint.defaultVia : endpoint.defaultVia6);

export interface LabNode {
  name: string;
  parent: string;
  /** Switch port of this node, in the switch namespace. */
  port: string;
  mtu: number;
  hostAddress: string;
  gateway?: string;
  hostAddress6?: string;
  gateway6?: string;
  profile: ProfileName;
}

interface OutsideSubnet {
  subnet: string;
  gatewayAddress: string;
  clientAddress: string;
}

export interface Topology {
  prefix: string;
  nodes: LabNode[];
  /** The families the matrix probes: 4, and 6 when the config has any IPv6 address. */
  families: Family[];
  /** Addresses the gateway router owns on the (untagged) LAN, with prefix: the IPv4 ones first. */
  gatewayLanAddresses: string[];
  /** The VLANs of the config: the switch ports become trunks, and the gateway gets a sub-interface in each. */
  vlans?: LabVlan[];
  outside: OutsideSubnet;
  /** Dual stack: the outside subnet's IPv6 side. */
  outside6?: OutsideSubnet;
  /** What the matrix probes; the watcher is not one of them. */
  endpoints: Endpoint[];
  /** A LAN neighbour on the switch, at addresses the config does not use; absent when its subnets have none free. */
  watcher?: Endpoint;
}

const OUTSIDE_CANDIDATES: OutsideSubnet[] = [
  { subnet: '10.8.0.0/16', gatewayAddress: '10.8.0.1/16', clientAddress: '10.8.0.241/16' },
  { subnet: '198.18.0.0/24', gatewayAddress: '198.18.0.1/24', clientAddress: '198.18.0.241/24' },
  { subnet: '100.127.255.0/24', gatewayAddress: '100.127.255.1/24', clientAddress: '100.127.255.241/24' },
];

// Documentation prefixes (RFC 3849, RFC 9637), as the IPv4 ones above are documentation or benchmarking ranges.
const OUTSIDE_CANDIDATES6: OutsideSubnet[] = [
  { subnet: '2001:db8:ffff::/64', gatewayAddress: '2001:db8:ffff::1/64', clientAddress: '2001:db8:ffff::241/64' },
  { subnet: '3fff:ffff::/64', gatewayAddress: '3fff:ffff::1/64', clientAddress: '3fff:ffff::241/64' },
];

/** The prefix a link-local gateway has on the gateway router's LAN interface. */
const LINK_LOCAL_PREFIX = 64;

const overlaps = (a: string, b: string): boolean => isInSubnet(hostOf(networkOf(a)), b) || isInSubnet(hostOf(networkOf(b)), a);

const defined = <T>(values: (T | undefined)[]): T[] => values.filter((value): value is T => value !== undefined);

function usedSubnets(plan: Plan): string[] {
  return plan.nodes.flatMap((node) => [
    ...defined([node.hostAddress, node.hostAddress6]),
    ...node.namespaces.flatMap((ns) => [...namespaceAddresses(ns), ...ns.routes.map((route) => route.to)]),
    ...(node.hostShim?.routes.map((route) => route.to) ?? []),
  ]);
}

interface ConfigAddress {
  address: string;
  gateway?: string;
  ofHost: boolean;
  vlan?: number;
}

/** Every host and namespace address of the config, with prefix, each with the gateway of its family. */
function configAddresses(plan: Plan): ConfigAddress[] {
  const entry = (ofHost: boolean, address: string | undefined, gateway: string | undefined, vlan?: number): ConfigAddress[] =>
    address === undefined ? [] : [{ address, ofHost, ...(gateway !== undefined && { gateway }), ...(vlan !== undefined && { vlan }) }];
  return plan.nodes.flatMap((node) => [
    ...entry(true, node.hostAddress, node.gateway),
    ...entry(true, node.hostAddress6, node.gateway6),
    ...node.namespaces.flatMap((ns) => [
      ...entry(false, ns.address, ns.gateway, ns.vlan),
      ...entry(false, ns.address6, ns.gateway6, ns.vlan),
      ...(ns.moreAddresses ?? []).flatMap((more) => entry(false, more.address, undefined, ns.vlan)),
    ]),
  ]);
}

/** Addresses (without prefix) the config names: of hosts and namespaces, gateways, next hops and probes. */
function takenAddresses(plan: Plan): Set<string> {
  return new Set([
    ...configAddresses(plan).flatMap(({ address, gateway }) => [hostOf(address), ...defined([gateway])]),
    ...plan.nodes.flatMap((node) => [
      ...node.namespaces.flatMap((ns) => ns.routes.map((route) => route.via)),
      ...(node.hostShim ? [...node.hostShim.routes.map((route) => route.via), ...node.hostShim.probes] : []),
      ...(node.addressShim ? defined([node.addressShim.address, node.addressShim.address6]).map(hostOf) : []),
    ]),
  ]);
}

/**
 * The gateway router answers at every gateway address the config names, with the prefix of the subnet it serves
 * (a host's, where a host and a namespace share a gateway; the IPv4 ones first). A link-local IPv6 gateway is one more address on its LAN interface; the router then also
 * takes a free address in each subnet it serves that way, as a real one has, to route into it and be pinged there.
 */
function gatewayLanAddresses(plan: Plan, vlan?: number): string[] {
  const byAddress = new Map<string, string>();
  const servedThroughLinkLocal: string[] = [];
  const addresses = configAddresses(plan).filter((a) => a.vlan === vlan);
  for (const { address, gateway, ofHost } of [...addresses.filter((a) => familyOf(a.address) === 4), ...addresses.filter((a) => familyOf(a.address) === 6)]) {
    if (gateway === undefined || (!ofHost && byAddress.has(gateway))) continue;
    if (isLinkLocal6(gateway)) servedThroughLinkLocal.push(networkOf(address));
    byAddress.set(gateway, `${gateway}/${isLinkLocal6(gateway) ? LINK_LOCAL_PREFIX : (address.split('/')[1] ?? '32')}`);
  }
  const taken = new Set([...takenAddresses(plan), ...byAddress.keys()]);
  for (const subnet of new Set(servedThroughLinkLocal)) {
    if ([...byAddress.values()].some((cidr) => isInSubnet(hostOf(cidr), subnet))) continue;
    const free = highestFreeHost(subnet, taken);
    if (free === undefined) continue;
    taken.add(free);
    byAddress.set(free, `${free}/${subnet.split('/')[1] ?? ''}`);
  }
  return [...byAddress.values()];
}

/** Each VLAN of the config, by id, with the gateway router's addresses in it (the VLAN's gateways in the config). */
function labVlans(plan: Plan): LabVlan[] {
  const ids = [...new Set(plan.nodes.flatMap((node) => node.vlans.map((vlan) => vlan.id)))].sort((a, b) => a - b);
  return ids.map((id) => ({ id, gatewayAddresses: gatewayLanAddresses(plan, id) }));
}

function shimThrough(node: string, shim: AddressShimPlan): ShimThrough {
  return {
    interface: shim.interface,
    addresses: defined([shim.address, shim.address6]),
    routesTo: [...shim.routes, ...shim.routes6].map((route) => route.to),
    attachment: { kind: 'macvlan', node, mode: shim.mode, sourceMacs: [], ...(shim.mac !== undefined && { mac: shim.mac }) },
  };
}

function nodeEndpoints(node: NodePlan): Endpoint[] {
  const shim = node.hostShim;
  const host: Endpoint = {
    id: node.name,
    kind: 'host',
    node: node.name,
    ip: node.hostIp,
    ...(node.hostAddress6 !== undefined && { ip6: hostOf(node.hostAddress6) }),
    addresses: defined([node.hostAddress, node.hostAddress6]),
    routes: shim?.routes ?? [],
    ...(node.gateway !== undefined && { defaultVia: node.gateway }),
    ...(node.gateway6 !== undefined && { defaultVia6: node.gateway6 }),
    attachment: shim
      ? shim.type === 'ipvlan'
        ? { kind: 'ipvlan', node: node.name, mode: shim.mode }
        : { kind: 'macvlan', node: node.name, mode: shim.mode, sourceMacs: [], ...(shim.mac !== undefined && { mac: shim.mac }) }
      : { kind: 'parent', node: node.name },
    ...(node.addressShim !== undefined && { shim: shimThrough(node.name, node.addressShim) }),
  };
  const namespaces = node.namespaces.map(
    (ns): Endpoint => ({
      id: `${node.name}/${ns.name}`,
      kind: 'namespace',
      node: node.name,
      netns: ns.name,
      ip: hostOf(ns.address),
      ...(ns.address6 !== undefined && { ip6: hostOf(ns.address6) }),
      addresses: namespaceAddresses(ns),
      routes: ns.routes,
      ...(ns.gateway !== undefined && { defaultVia: ns.gateway }),
      ...(ns.gateway6 !== undefined && { defaultVia6: ns.gateway6 }),
      attachment:
        ns.type === 'ipvlan'
          ? { kind: 'ipvlan', node: node.name, mode: ns.mode }
          : { kind: 'macvlan', node: node.name, mode: ns.mode, sourceMacs: ns.sourceMacs, ...(ns.mac !== undefined && { mac: ns.mac }) },
      ...(ns.vlan !== undefined && { vlan: ns.vlan }),
    }),
  );
  return [host, ...namespaces];
}

/**
 * One address in each LAN subnet (the widest, where subnets nest; IPv4 first, never link-local) that nothing in the
 * config uses: the highest free host address, so that a neighbour there never takes an address a node, namespace,
 * gateway or route names.
 */
function watcherAddresses(plan: Plan, lanAddresses: string[]): string[] {
  // The watcher sits on the untagged LAN: a VLAN's subnets are not on its wire.
  const untagged = configAddresses(plan).filter(({ vlan }) => vlan === undefined);
  const connected = [...lanAddresses, ...untagged.map(({ address }) => address)].filter((cidr) => !isLinkLocal6(hostOf(cidr)));
  const subnets = [...new Set(connected.map(networkOf))].sort((a, b) => familyOf(a) - familyOf(b));
  const prefixOf = (cidr: string): number => Number(cidr.split('/')[1]);
  const widest = subnets.filter((subnet) => !subnets.some((other) => prefixOf(other) < prefixOf(subnet) && isInSubnet(hostOf(subnet), other)));
  const taken = new Set([...connected.map(hostOf), ...takenAddresses(plan)]);
  return widest.flatMap((subnet) => {
    const free = highestFreeHost(subnet, taken);
    return free === undefined ? [] : [`${free}/${prefixOf(subnet)}`];
  });
}

interface LabEndpoints {
  gateway: Endpoint;
  /** The gateway router once more per VLAN, at that VLAN's address. */
  vlanGateways: Endpoint[];
  client: Endpoint;
}

const endpointsOf = (plan: Plan, lab: LabEndpoints): Endpoint[] => [...plan.nodes.flatMap(nodeEndpoints), lab.gateway, ...lab.vlanGateways, lab.client];

/** The gateway router's interface in one VLAN, as an endpoint of the matrix; none for a VLAN without a gateway in the config. */
function vlanGatewayEndpoint(vlan: LabVlan): Endpoint[] {
  const ip = hostOfFamily(vlan.gatewayAddresses, 4);
  if (ip === undefined) return [];
  const ip6 = hostOfFamily(vlan.gatewayAddresses, 6);
  return [
    {
      id: `gateway.${vlan.id}`,
      kind: 'vlan-gateway',
      ip,
      ...(ip6 !== undefined && { ip6 }),
      addresses: vlan.gatewayAddresses,
      routes: [],
      attachment: { kind: 'lan' },
      vlan: vlan.id,
    },
  ];
}

function outsideSubnet(candidates: OutsideSubnet[], used: string[], family: string): OutsideSubnet {
  const outside = candidates.find((candidate) => !used.some((subnet) => overlaps(subnet, candidate.subnet)));
  if (!outside) throw new Error(`the config uses every ${family} subnet the lab could put its outside client in`);
  return outside;
}

/** The one address of a family among addresses with prefix (the first, if there were more). */
const hostOfFamily = (addresses: string[], family: Family): string | undefined => {
  const found = addresses.find((cidr) => familyOf(cidr) === family && !isLinkLocal6(hostOf(cidr)));
  return found === undefined ? undefined : hostOf(found);
};

export function buildTopology(plan: Plan, prefix: string, profiles: Record<string, ProfileName> = {}): Topology {
  const used = usedSubnets(plan);
  const outside = outsideSubnet(OUTSIDE_CANDIDATES, used, 'IPv4');
  const outside6 = plan.nodes.some((node) => node.ipv6) ? outsideSubnet(OUTSIDE_CANDIDATES6, used, 'IPv6') : undefined;
  const lanAddresses = gatewayLanAddresses(plan);
  const vlans = labVlans(plan);
  const vlanAddresses = vlans.flatMap((vlan) => vlan.gatewayAddresses.map((cidr): [string, number] => [cidr, vlan.id]));
  const nodes = plan.nodes.map(
    (node, i): LabNode => ({
      name: node.name,
      parent: node.parent,
      port: `p${i}`,
      mtu: Math.max(1500, ...node.namespaces.map((ns) => ns.mtu ?? 0), node.hostShim?.mtu ?? 0, node.addressShim?.mtu ?? 0),
      hostAddress: node.hostAddress,
      ...(node.gateway !== undefined && { gateway: node.gateway }),
      ...(node.hostAddress6 !== undefined && { hostAddress6: node.hostAddress6 }),
      ...(node.gateway6 !== undefined && { gateway6: node.gateway6 }),
      profile: profiles[node.name] ?? DEFAULT_PROFILE,
    }),
  );
  const gateway: Endpoint = {
    id: 'gateway',
    kind: 'gateway',
    ip: hostOf(lanAddresses[0] ?? outside.gatewayAddress),
    ...(outside6 !== undefined && { ip6: hostOfFamily([...lanAddresses, outside6.gatewayAddress], 6) }),
    addresses: [...lanAddresses, outside.gatewayAddress, ...defined([outside6?.gatewayAddress]), ...vlanAddresses.map(([cidr]) => cidr)],
    routes: [],
    attachment: { kind: 'lan' },
    ...(vlanAddresses.length > 0 && { addressVlans: Object.fromEntries(vlanAddresses) }),
  };
  const client: Endpoint = {
    id: 'client',
    kind: 'client',
    ip: hostOf(outside.clientAddress),
    ...(outside6 !== undefined && { ip6: hostOf(outside6.clientAddress), defaultVia6: hostOf(outside6.gatewayAddress) }),
    addresses: [outside.clientAddress, ...defined([outside6?.clientAddress])],
    routes: [],
    defaultVia: hostOf(outside.gatewayAddress),
    attachment: { kind: 'outside' },
  };
  const watching = watcherAddresses(plan, lanAddresses);
  const watcherIp = hostOfFamily(watching, 4);
  const watcherIp6 = hostOfFamily(watching, 6);
  const watcher: Endpoint | undefined =
    watcherIp === undefined
      ? undefined
      : { id: 'watcher', kind: 'watcher', ip: watcherIp, ...(watcherIp6 !== undefined && { ip6: watcherIp6 }), addresses: watching, routes: [], attachment: { kind: 'lan' } };
  return {
    prefix,
    nodes,
    families: outside6 === undefined ? [4] : [4, 6],
    gatewayLanAddresses: lanAddresses,
    ...(vlans.length > 0 && { vlans }),
    outside,
    ...(outside6 !== undefined && { outside6 }),
    endpoints: endpointsOf(plan, { gateway, vlanGateways: vlans.flatMap(vlanGatewayEndpoint), client }),
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
  const vlanGateways = lab.endpoints.filter((endpoint) => endpoint.kind === 'vlan-gateway');
  return { ...lab, endpoints: endpointsOf(plan, { gateway, vlanGateways, client }) };
}
