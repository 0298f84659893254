// Rules that span fields, nodes and namespaces; they run once the shape is right.
import type { PathSegment } from './diagnostics.js';
import type { Config, NamespaceConfig, NodeConfig, RouteConfig } from './schema.js';
import { linkMac, namespaceEntries, namespaceMacOwner, namespaceMode, namespaceMtu, namespaceResolver, namespaceType, namespaceVlan, nodeType, shimMacOwner, shimMode, vlanDevice } from './inherit.js';
import { checkLinkTypes } from './link-types.js';
import { canonicalAddress, describeRange, familyOf, hostOf, isInSubnet, isLinkLocal6, networkOf, rangeOf, type Family } from '../ip.js';
import { listOf } from './families.js';
import { checkShimAddress } from './shim-address.js';
import { checkSshEndpoints } from './ssh.js';
import { INTERFACE_NAME_MAX, MAX_NAMESERVERS, MAX_SEARCH_DOMAINS } from './rules.js';

export interface Finding {
  path: PathSegment[];
  message: string;
  at?: 'key' | 'value';
  severity?: 'error' | 'warning';
}

const showPath = (path: readonly PathSegment[]): string => path.join('.');

/** Remembers the first place each value was used and reports every later use. */
class FirstUse {
  private readonly seen = new Map<string, PathSegment[]>();

  constructor(private readonly findings: Finding[]) {}

  claim(value: string, path: PathSegment[], describe: (firstPath: string) => string): void {
    const first = this.seen.get(value);
    if (first) this.findings.push({ path, message: describe(showPath(first)) });
    else this.seen.set(value, path);
  }

  firstPathOf(value: string): PathSegment[] | undefined {
    return this.seen.get(value);
  }
}

const FAMILY_NAME: Record<Family, string> = { 4: 'IPv4', 6: 'IPv6' };

/** Below this MTU the kernel turns IPv6 off on an interface (RFC 8200). */
const IPV6_MIN_MTU = 1280;
const ipv6MtuProblem = (mtu: number, iface: string): string =>
  `MTU ${mtu} is below ${IPV6_MIN_MTU}, the least IPv6 works with: the kernel turns IPv6 off on ${iface}, and its IPv6 address could not be set. Raise the MTU, or give it no IPv6 address`;

/**
 * What must be unique across the fleet: an address, within its VLAN. Hosts are on the untagged LAN; VLANs are
 * broadcast domains of their own, so the same address may serve in two of them.
 */
const inSegment = (vlan: number | undefined, address: string): string => (vlan === undefined ? address : `vlan ${vlan} ${address}`);
const onVlan = (vlan: number | undefined): string => (vlan === undefined ? '' : ` (on VLAN ${vlan})`);

/** An interface's addresses by family, in the order given (the first of each is its primary); "address" takes one value or a list. */
type Addresses = Map<Family, string[]>;

/** The path of item i of a field that holds one value or a list. */
const itemPath = (base: PathSegment[], value: string | readonly string[] | undefined, i: number): PathSegment[] =>
  typeof value === 'string' || value === undefined ? base : [...base, i];

/**
 * Reports a missing IPv4 address and, where an interface takes one address per family (the host's, which the
 * migration moves as a pair), a second one of a family; returns the addresses by family.
 */
function checkAddresses(findings: Finding[], value: string | readonly string[], path: PathSegment[], several: boolean): Addresses {
  const byFamily: Addresses = new Map();
  listOf(value).forEach((cidr, i) => {
    const family = familyOf(cidr);
    const same = byFamily.get(family) ?? [];
    if (same.length > 0 && !several) {
      findings.push({ path: itemPath(path, value, i), message: `a second ${FAMILY_NAME[family]} address (${cidr} after ${same[0]}); give at most one address of each family` });
      return;
    }
    const wider = same.find((earlier) => prefixOf(earlier) < prefixOf(cidr) && isInSubnet(hostOf(cidr), earlier));
    if (wider !== undefined) {
      findings.push({
        path: itemPath(path, value, i),
        severity: 'warning',
        message: `${cidr} lies inside ${networkOf(wider)} of ${wider} with a longer prefix: the kernel would send from it, not from ${hostOf(wider)}, to every address of ${networkOf(cidr)}; give it the prefix /${prefixOf(wider)} if it is only to answer there`,
      });
    }
    byFamily.set(family, [...same, cidr]);
  });
  if (!byFamily.has(4)) findings.push({ path, message: 'needs an IPv4 address; an IPv6 address comes in addition to it (dual stack)' });
  return byFamily;
}

const prefixOf = (cidr: string): number => Number(cidr.split('/')[1]);

/** The subnets of an interface's addresses of one family, for messages: "10.0.0.0/24" or "10.0.0.0/24 or 10.9.0.0/24". */
const subnetsOf = (cidrs: readonly string[]): string => [...new Set(cidrs.map(networkOf))].join(' or ');

/** Is a next hop reachable from an interface with these addresses: in a subnet of its family, or IPv6 link-local. */
function nextHopProblem(hop: string, addresses: Addresses, what: string): string | undefined {
  const family = familyOf(hop);
  const own = addresses.get(family);
  if (own === undefined) return `${what} ${hop} is ${FAMILY_NAME[family]}, and this interface has no ${FAMILY_NAME[family]} address`;
  if (isLinkLocal6(hop) || own.some((cidr) => isInSubnet(hop, cidr))) return undefined;
  return `${what} ${hop} is not on-link: it must be inside ${subnetsOf(own)}`;
}

/** At most one gateway per family, each reachable; returns the gateways. */
function checkGateways(findings: Finding[], value: string | readonly string[] | undefined, addresses: Addresses, path: PathSegment[]): Map<Family, string> {
  const byFamily = new Map<Family, string>();
  listOf(value).forEach((gateway, i) => {
    const family = familyOf(gateway);
    const first = byFamily.get(family);
    if (first !== undefined) {
      findings.push({ path: itemPath(path, value, i), message: `a second ${FAMILY_NAME[family]} gateway (${gateway} after ${first}); give at most one gateway of each family` });
      return;
    }
    byFamily.set(family, gateway);
    const problem = nextHopProblem(gateway, addresses, 'gateway');
    if (problem) findings.push({ path: itemPath(path, value, i), message: problem });
  });
  return byFamily;
}

function checkRoutes(findings: Finding[], routes: RouteConfig[] | undefined, addresses: Addresses, base: PathSegment[]): void {
  const destinations = new FirstUse(findings);
  const own = new Set([...addresses.values()].flat().map((cidr) => canonicalAddress(hostOf(cidr))));
  (routes ?? []).forEach((route, i) => {
    const path = [...base, 'routes', i];
    destinations.claim(networkOf(route.to), [...path, 'to'], (first) => `route to ${route.to} is already given at ${first}`);
    if (familyOf(route.via) !== familyOf(route.to)) {
      findings.push({ path: [...path, 'via'], message: `next hop ${route.via} is ${FAMILY_NAME[familyOf(route.via)]}, and the destination ${route.to} is ${FAMILY_NAME[familyOf(route.to)]}` });
      return;
    }
    const problem = nextHopProblem(route.via, addresses, 'next hop');
    if (problem) findings.push({ path: [...path, 'via'], message: problem });
    else if (own.has(canonicalAddress(route.via))) findings.push({ path: [...path, 'via'], message: `next hop ${route.via} is this interface's own address` });
  });
}

/** The resolver reads no more than MAX_NAMESERVERS nameservers and (glibc before 2.26, musl) MAX_SEARCH_DOMAINS search domains. */
function checkResolverLength(findings: Finding[], dns: readonly string[] | undefined, search: readonly string[] | undefined, base: PathSegment[]): void {
  if (dns !== undefined && dns.length > MAX_NAMESERVERS) {
    findings.push({ path: [...base, 'dns'], message: `${dns.length} nameservers; give at most ${MAX_NAMESERVERS}: the resolver (glibc, musl) ignores every one after the ${MAX_NAMESERVERS}rd` });
  }
  if (search !== undefined && search.length > MAX_SEARCH_DOMAINS) {
    findings.push({ path: [...base, 'search'], message: `${search.length} search domains; give at most ${MAX_SEARCH_DOMAINS}: older resolvers (glibc before 2.26, musl) ignore the rest` });
  }
}

/**
 * A namespace's nameservers: each once, of a family the namespace has an address of (its own list: an error; the
 * defaults': a warning, as a dual-stack fleet shares one list), and reachable: on-link, or through a gateway or route.
 */
function checkResolver(findings: Finding[], config: Config, namespace: NamespaceConfig, addresses: Addresses, gateways: Map<Family, string>, nsBase: PathSegment[]): void {
  checkResolverLength(findings, namespace.dns, namespace.search, nsBase);
  const resolver = namespaceResolver(config, namespace);
  if (resolver === undefined) {
    if (namespace.search !== undefined) {
      findings.push({ path: [...nsBase, 'search'], message: 'search domains need a nameserver: give the namespace "dns" (or the defaults one), or remove "search"' });
    }
    return;
  }
  const domains = new FirstUse(findings);
  (namespace.search ?? []).forEach((domain, i) =>
    domains.claim(domain.toLowerCase().replace(/\.$/, ''), [...nsBase, 'search', i], (first) => `search domain ${domain} is already listed at ${first}`),
  );
  const own = namespace.dns !== undefined;
  const listPath = own ? [...nsBase, 'dns'] : ['defaults', 'dns'];
  const seen = new FirstUse(findings);
  resolver.nameservers.forEach((nameserver, i) => {
    const path = own ? [...listPath, i] : nsBase;
    const where = own ? '' : ` (defaults.dns.${i})`;
    if (own) seen.claim(canonicalAddress(nameserver), path, (first) => `nameserver ${nameserver} is already listed at ${first}`);
    const family = familyOf(nameserver);
    const range = rangeOf(nameserver);
    if (range === 'unspecified' || range === 'multicast' || range === 'broadcast') {
      findings.push({ path, message: `nameserver ${nameserver}${where} is ${describeRange(range)}; give the address of a machine that answers DNS` });
      return;
    }
    if (isLinkLocal6(nameserver)) {
      findings.push({ path, message: `nameserver ${nameserver}${where} is link-local: resolv.conf cannot say which interface to ask it on, and the resolver cannot reach it; give a global address` });
      return;
    }
    // One that the namespace runs itself (a local cache) answers on its lo.
    if (range === 'loopback') return;
    const subnets = addresses.get(family);
    if (subnets === undefined) {
      findings.push({
        path,
        severity: own ? 'error' : 'warning',
        message: `nameserver ${nameserver}${where} is ${FAMILY_NAME[family]}, and this namespace has no ${FAMILY_NAME[family]} address: it cannot reach it${own ? '' : ', and asks the others'}`,
      });
      return;
    }
    const routed = gateways.has(family) || (namespace.routes ?? []).some((route) => familyOf(route.to) === family && isInSubnet(nameserver, route.to));
    if (!subnets.some((cidr) => isInSubnet(nameserver, cidr)) && !routed) {
      findings.push({
        path,
        severity: 'warning',
        message: `nameserver ${nameserver}${where} is outside ${subnetsOf(subnets)}, and this namespace has no ${FAMILY_NAME[family]} gateway or route to it: it cannot reach it`,
      });
    }
  });
}

function checkNode(findings: Finding[], config: Config, nodeName: string, node: NodeConfig, addresses: FirstUse, macs: FirstUse): void {
  const base: PathSegment[] = ['nodes', nodeName];

  const interfaces = new FirstUse(findings);
  const claimInterface = (name: string, path: PathSegment[]) =>
    interfaces.claim(name, path, (first) => `interface "${name}" is already used on this node by ${first}; names must be unique on a node`);
  claimInterface(node.parent, [...base, 'parent']);

  const hostAddresses = checkAddresses(findings, node.address, [...base, 'address'], false);
  listOf(node.address).forEach((cidr, i) => {
    const host = hostOf(cidr);
    addresses.claim(canonicalAddress(host), itemPath([...base, 'address'], node.address, i), (first) => `address ${host} is already assigned at ${first}`);
  });
  const hostGateways = checkGateways(findings, node.gateway, hostAddresses, [...base, 'gateway']);
  const hostOwn = new Set([...hostAddresses.values()].flat().map((cidr) => canonicalAddress(hostOf(cidr))));

  const namespaces = namespaceEntries(node);
  const macvlanCount = namespaces.length + (node.hostShim ? 1 : 0);
  const vlanOf = new Map(namespaces.map(([name, namespace]) => [name, namespaceVlan(config, node, namespace)]));
  const perLower = new Map<number | undefined, number>();
  for (const vlan of vlanOf.values()) perLower.set(vlan, (perLower.get(vlan) ?? 0) + 1);
  /** The macvlans on one lower device: the parent (with the host shim) or one VLAN device. */
  const macvlansOn = (vlan: number | undefined): number => (perLower.get(vlan) ?? 0) + (vlan === undefined && node.hostShim ? 1 : 0);
  checkVlanDevices(findings, config, nodeName, node, claimInterface);
  if (macvlanCount === 0) {
    findings.push({ path: base, at: 'key', severity: 'warning', message: `node "${nodeName}" has no namespaces and no hostShim; its script will change nothing but promisc` });
  }

  const shim = node.hostShim;
  if (shim) {
    const shimBase = [...base, 'hostShim'];
    claimInterface(shim.interface, [...shimBase, 'interface']);
    if (shim.address === undefined && !hostGateways.has(4)) {
      findings.push({ path: base, message: 'hostShim needs an IPv4 "gateway" on the node: the migration re-adds the default route through it' });
    }
    const shimModeOf = shimMode(config, node, shim);
    if (shimModeOf === 'passthru') findings.push({ path: [...shimBase, 'mode'], message: 'a host shim cannot use mode "passthru"; use "bridge"' });
    if (shimModeOf === 'source') findings.push({ path: [...shimBase, 'mode'], message: 'a host shim cannot use mode "source"; use "bridge"' });
    if (shim.address === undefined) checkRoutes(findings, shim.routes, hostAddresses, shimBase);
    if (hostAddresses.has(6) && shim.mtu !== undefined && shim.mtu < IPV6_MIN_MTU) {
      findings.push({ path: [...shimBase, 'mtu'], message: ipv6MtuProblem(shim.mtu, shim.interface) });
    }
    (shim.probes ?? []).forEach((probe, i) => {
      const family = familyOf(probe);
      if (hostOwn.has(canonicalAddress(probe))) {
        findings.push({ path: [...shimBase, 'probes', i], message: `probe ${probe} is the host's own address and proves nothing` });
      } else if (!hostAddresses.has(family)) {
        findings.push({ path: [...shimBase, 'probes', i], message: `probe ${probe} is ${FAMILY_NAME[family]}, and the host has no ${FAMILY_NAME[family]} address to ask from` });
      }
    });
    const shimMac = linkMac(config, nodeName, shimMacOwner(shim), shim.mac, nodeType(config, node));
    if (shimMac) macs.claim(shimMac, [...shimBase, 'mac'], (first) => `MAC ${shimMac} is already used at ${first}`);
  }

  if (shim && namespaces.length > 0 && [...vlanOf.values()].every((vlan) => vlan !== undefined)) {
    findings.push({
      path: [...base, 'hostShim'],
      at: 'key',
      severity: 'warning',
      message: `every namespace of this node is on a VLAN, and the host shim ${shim.interface} stays on the untagged ${node.parent}: it reaches none of them (only a router between the VLANs does), so moving the host address gains nothing`,
    });
  }

  for (const [namespaceName, namespace] of namespaces) {
    const nsBase = [...base, 'namespaces', namespaceName];
    claimInterface(namespace.interface, [...nsBase, 'interface']);
    const vlan = vlanOf.get(namespaceName);

    const nsAddresses = checkAddresses(findings, namespace.address, [...nsBase, 'address'], true);
    listOf(namespace.address).forEach((cidr, i) => {
      const path = itemPath([...nsBase, 'address'], namespace.address, i);
      const host = hostOf(cidr);
      addresses.claim(inSegment(vlan, canonicalAddress(host)), path, (first) => `address ${host} is already assigned at ${first}${onVlan(vlan)}`);
      // The first address of a family is the one the namespace sends from; a further one may sit in another subnet.
      // A namespace on a VLAN is on another LAN than the host address, whatever its subnet.
      const hostSubnet = hostAddresses.get(familyOf(cidr))?.[0];
      const primary = nsAddresses.get(familyOf(cidr))?.[0] === cidr;
      if (vlan === undefined && primary && hostSubnet !== undefined && !isInSubnet(host, hostSubnet)) {
        findings.push({
          path,
          severity: 'warning',
          message: `${cidr} is outside the host's subnet ${networkOf(hostSubnet)}; the namespace reaches the host's LAN only through a router`,
        });
      }
    });
    const nsGateways = checkGateways(findings, namespace.gateway, nsAddresses, [...nsBase, 'gateway']);
    checkRoutes(findings, namespace.routes, nsAddresses, nsBase);
    checkResolver(findings, config, namespace, nsAddresses, nsGateways, nsBase);
    const nsMtu = namespaceMtu(config, node, namespace);
    if (nsAddresses.has(6) && nsMtu !== undefined && nsMtu < IPV6_MIN_MTU) {
      findings.push({ path: [...nsBase, namespace.mtu === undefined ? 'address' : 'mtu'], message: ipv6MtuProblem(nsMtu, namespace.interface) });
    }
    if (namespace.nodad !== undefined && !listOf(namespace.address).some((cidr) => familyOf(cidr) === 6)) {
      findings.push({
        path: [...nsBase, 'nodad'],
        severity: 'warning',
        message: 'nodad concerns IPv6 addresses, and this namespace has none; it changes nothing here',
      });
    }

    const mode = namespaceMode(config, node, namespace);
    const sharingLower = macvlansOn(vlan);
    if (mode === 'passthru' && sharingLower > 1) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        message:
          vlan === undefined
            ? `mode "passthru" takes the whole parent ${node.parent}, so it must be the only macvlan on it (this node has ${sharingLower}${shim ? ', including the host shim' : ''})`
            : `mode "passthru" takes the whole VLAN device ${vlanDevice(node.parent, vlan)}, so it must be the only macvlan on it (this node has ${sharingLower} on VLAN ${vlan})`,
      });
    }
    if (mode === 'passthru' && sharingLower === 1 && vlan === undefined) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        severity: 'warning',
        message: `mode "passthru" hands every frame on ${node.parent} to ${namespace.interface}: the host address ${listOf(node.address).join(' and ')} on ${node.parent} stops answering, so the node needs another way in`,
      });
    }
    if (mode === 'source' && namespace.sourceMacs === undefined) {
      findings.push({ path: nsBase, message: 'mode "source" needs "sourceMacs": the sender MACs this interface accepts' });
    }
    if (mode !== 'source' && namespace.sourceMacs !== undefined) {
      findings.push({ path: [...nsBase, 'sourceMacs'], message: `"sourceMacs" only applies to mode "source", and this namespace uses "${mode}"` });
    }
    // With a shim, passthru is already an error above (it must be the only macvlan on the parent).
    const modes = shim ? [mode, shimMode(config, node, shim)] : [];
    const macvlans = namespaceType(config, node, namespace) === 'macvlan' && (!shim || nodeType(config, node) === 'macvlan');
    if (shim && vlan === undefined && macvlans && modes.some((m) => m !== 'bridge') && !modes.includes('passthru')) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        severity: 'warning',
        message: `the host shim ${shim.interface} (mode ${shimMode(config, node, shim)}) cannot reach this namespace (mode ${mode}) directly: macvlan delivers between siblings only when both are in bridge mode`,
      });
    }
    const mac = linkMac(config, nodeName, namespaceMacOwner(namespaceName), namespace.mac, namespaceType(config, node, namespace));
    if (mac) macs.claim(mac, [...nsBase, 'mac'], (first) => `MAC ${mac} is already used at ${first}`);
  }

  if (shim?.address !== undefined) {
    const shimBase = [...base, 'hostShim'];
    const shimAddresses = checkAddresses(findings, shim.address, [...shimBase, 'address'], false);
    if (nodeType(config, node) === 'ipvlan') {
      findings.push({
        path: [...shimBase, 'address'],
        message: 'a shim with an address of its own is made for macvlan nodes (not measured with ipvlan); on an ipvlan node leave out address: the host address then moves onto an l2 ipvlan shim',
      });
    }
    checkShimAddress(findings, node, shim, shimAddresses, shimBase, (address, path) =>
      addresses.claim(canonicalAddress(address), path, (first) => `address ${address} is already assigned at ${first}`),
    );
  }
}

/**
 * Each VLAN device a node's namespaces need, once: its name (`<parent>.<vlan>`) must fit in IFNAMSIZ and be free on
 * the node. Reported where the VLAN is set; for one from the defaults, at the node's parent, whose name makes it long.
 */
function checkVlanDevices(findings: Finding[], config: Config, nodeName: string, node: NodeConfig, claimInterface: (name: string, path: PathSegment[]) => void): void {
  const base: PathSegment[] = ['nodes', nodeName];
  const seen = new Set<number>();
  for (const [namespaceName, namespace] of namespaceEntries(node)) {
    const vlan = namespaceVlan(config, node, namespace);
    if (vlan === undefined || seen.has(vlan)) continue;
    seen.add(vlan);
    const device = vlanDevice(node.parent, vlan);
    const [path, from] =
      namespace.vlan !== undefined
        ? [[...base, 'namespaces', namespaceName, 'vlan'], '']
        : node.vlan !== undefined
          ? [[...base, 'vlan'], '']
          : [[...base, 'parent'], ', VLAN from defaults.vlan'];
    claimInterface(device, path);
    if (device.length > INTERFACE_NAME_MAX) {
      findings.push({
        path,
        message: `the VLAN device "${device}" (parent "${node.parent}" + ".${vlan}"${from}) is ${device.length} characters, must be at most ${INTERFACE_NAME_MAX} (IFNAMSIZ): use a shorter VLAN id, or a parent with a shorter name`,
      });
    }
  }
}

/** Gateways are other machines: none may also be an address this config assigns (in the gateway's VLAN). */
function checkGatewaysAreNotAssigned(findings: Finding[], config: Config, addresses: FirstUse): void {
  for (const [nodeName, node] of Object.entries(config.nodes)) {
    const fields: [string | string[] | undefined, PathSegment[], number | undefined][] = [
      [node.gateway, ['nodes', nodeName, 'gateway'], undefined],
      ...namespaceEntries(node).map(([name, ns]): [string | string[] | undefined, PathSegment[], number | undefined] => [
        ns.gateway,
        ['nodes', nodeName, 'namespaces', name, 'gateway'],
        namespaceVlan(config, node, ns),
      ]),
    ];
    for (const [value, base, vlan] of fields) {
      listOf(value).forEach((gateway, i) => {
        const owner = addresses.firstPathOf(inSegment(vlan, canonicalAddress(gateway)));
        if (owner) findings.push({ path: itemPath(base, value, i), message: `gateway ${gateway} is the address assigned at ${showPath(owner)}; a gateway must be another machine` });
      });
    }
  }
}

export function checkSemantics(config: Config): Finding[] {
  const findings: Finding[] = [];
  const addresses = new FirstUse(findings);
  const macs = new FirstUse(findings);
  checkResolverLength(findings, config.defaults?.dns, config.defaults?.search, ['defaults']);
  const defaultNameservers = new FirstUse(findings);
  (config.defaults?.dns ?? []).forEach((nameserver, i) =>
    defaultNameservers.claim(canonicalAddress(nameserver), ['defaults', 'dns', i], (first) => `nameserver ${nameserver} is already listed at ${first}`),
  );
  for (const [nodeName, node] of Object.entries(config.nodes)) {
    checkNode(findings, config, nodeName, node, addresses, macs);
    checkLinkTypes(findings, config, nodeName, node);
  }
  checkGatewaysAreNotAssigned(findings, config, addresses);
  findings.push(...checkSshEndpoints(config));
  if (Object.keys(config.nodes).length === 0) findings.push({ path: ['nodes'], message: 'no nodes: add at least one' });
  return findings;
}
