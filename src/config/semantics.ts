// Rules that span fields, nodes and namespaces; they run once the shape is right.
import type { PathSegment } from './diagnostics.js';
import type { Config, NodeConfig, RouteConfig } from './schema.js';
import { namespaceEntries, namespaceMacOwner, namespaceMode, resolveMac, shimMacOwner, shimMode } from './inherit.js';
import { hostOf, isInSubnet, networkOf } from '../ip.js';

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

function checkRoutes(findings: Finding[], routes: RouteConfig[] | undefined, subnet: string, ownAddress: string, base: PathSegment[]): void {
  const destinations = new FirstUse(findings);
  (routes ?? []).forEach((route, i) => {
    const path = [...base, 'routes', i];
    destinations.claim(route.to, [...path, 'to'], (first) => `route to ${route.to} is already given at ${first}`);
    if (!isInSubnet(route.via, subnet)) {
      findings.push({ path: [...path, 'via'], message: `next hop ${route.via} is not on-link: it must be inside ${networkOf(subnet)}` });
    } else if (route.via === ownAddress) {
      findings.push({ path: [...path, 'via'], message: `next hop ${route.via} is this interface's own address` });
    }
  });
}

function checkNode(findings: Finding[], config: Config, nodeName: string, node: NodeConfig, addresses: FirstUse, macs: FirstUse): void {
  const base: PathSegment[] = ['nodes', nodeName];

  const interfaces = new FirstUse(findings);
  const claimInterface = (name: string, path: PathSegment[]) =>
    interfaces.claim(name, path, (first) => `interface "${name}" is already used on this node by ${first}; names must be unique on a node`);
  claimInterface(node.parent, [...base, 'parent']);

  const hostAddress = hostOf(node.address);
  addresses.claim(hostAddress, [...base, 'address'], (first) => `address ${hostAddress} is already assigned at ${first}`);
  if (node.gateway !== undefined) {
    if (!isInSubnet(node.gateway, node.address)) {
      findings.push({ path: [...base, 'gateway'], message: `gateway ${node.gateway} is not on-link: it must be inside ${networkOf(node.address)}` });
    }
  }

  const namespaces = namespaceEntries(node);
  const macvlanCount = namespaces.length + (node.hostShim ? 1 : 0);
  if (macvlanCount === 0) {
    findings.push({ path: base, at: 'key', severity: 'warning', message: `node "${nodeName}" has no namespaces and no hostShim; its script will change nothing but promisc` });
  }

  const shim = node.hostShim;
  if (shim) {
    const shimBase = [...base, 'hostShim'];
    claimInterface(shim.interface, [...shimBase, 'interface']);
    if (node.gateway === undefined) {
      findings.push({ path: base, message: 'hostShim needs "gateway" on the node: the migration re-adds the default route through it' });
    }
    if (shimMode(shim) === 'passthru') findings.push({ path: [...shimBase, 'mode'], message: 'a host shim cannot use mode "passthru"; use "bridge"' });
    if (shimMode(shim) === 'source') findings.push({ path: [...shimBase, 'mode'], message: 'a host shim cannot use mode "source"; use "bridge"' });
    checkRoutes(findings, shim.routes, node.address, hostAddress, shimBase);
    (shim.probes ?? []).forEach((probe, i) => {
      if (probe === hostAddress) findings.push({ path: [...shimBase, 'probes', i], message: `probe ${probe} is the host's own address and proves nothing` });
    });
    const shimMac = resolveMac(nodeName, shimMacOwner(shim), shim.mac);
    if (shimMac) macs.claim(shimMac, [...shimBase, 'mac'], (first) => `MAC ${shimMac} is already used at ${first}`);
  }

  for (const [namespaceName, namespace] of namespaces) {
    const nsBase = [...base, 'namespaces', namespaceName];
    claimInterface(namespace.interface, [...nsBase, 'interface']);

    const address = hostOf(namespace.address);
    addresses.claim(address, [...nsBase, 'address'], (first) => `address ${address} is already assigned at ${first}`);
    if (!isInSubnet(address, node.address)) {
      findings.push({
        path: [...nsBase, 'address'],
        severity: 'warning',
        message: `${namespace.address} is outside the host's subnet ${networkOf(node.address)}; the namespace reaches the host's LAN only through a router`,
      });
    }
    if (namespace.gateway !== undefined && !isInSubnet(namespace.gateway, namespace.address)) {
      findings.push({ path: [...nsBase, 'gateway'], message: `gateway ${namespace.gateway} is not on-link: it must be inside ${networkOf(namespace.address)}` });
    }
    checkRoutes(findings, namespace.routes, namespace.address, address, nsBase);

    const mode = namespaceMode(config, node, namespace);
    if (mode === 'passthru' && macvlanCount > 1) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        message: `mode "passthru" takes the whole parent ${node.parent}, so it must be the only macvlan on it (this node has ${macvlanCount}${shim ? ', including the host shim' : ''})`,
      });
    }
    if (mode === 'passthru' && macvlanCount === 1) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        severity: 'warning',
        message: `mode "passthru" hands every frame on ${node.parent} to ${namespace.interface}: the host address ${node.address} on ${node.parent} stops answering, so the node needs another way in`,
      });
    }
    if (mode === 'source' && namespace.sourceMacs === undefined) {
      findings.push({ path: nsBase, message: 'mode "source" needs "sourceMacs": the sender MACs this interface accepts' });
    }
    if (mode !== 'source' && namespace.sourceMacs !== undefined) {
      findings.push({ path: [...nsBase, 'sourceMacs'], message: `"sourceMacs" only applies to mode "source", and this namespace uses "${mode}"` });
    }
    // With a shim, passthru is already an error above (it must be the only macvlan on the parent).
    const modes = shim ? [mode, shimMode(shim)] : [];
    if (shim && modes.some((m) => m !== 'bridge') && !modes.includes('passthru')) {
      findings.push({
        path: [...nsBase, namespace.mode ? 'mode' : 'interface'],
        severity: 'warning',
        message: `the host shim ${shim.interface} (mode ${shimMode(shim)}) cannot reach this namespace (mode ${mode}) directly: macvlan delivers between siblings only when both are in bridge mode`,
      });
    }
    const mac = resolveMac(nodeName, namespaceMacOwner(namespaceName), namespace.mac);
    if (mac) macs.claim(mac, [...nsBase, 'mac'], (first) => `MAC ${mac} is already used at ${first}`);
  }
}

/** Gateways are other machines: none may also be an address this config assigns. */
function checkGatewaysAreNotAssigned(findings: Finding[], config: Config, addresses: FirstUse): void {
  for (const [nodeName, node] of Object.entries(config.nodes)) {
    const gateways: [string | undefined, PathSegment[]][] = [
      [node.gateway, ['nodes', nodeName, 'gateway']],
      ...namespaceEntries(node).map(([name, ns]): [string | undefined, PathSegment[]] => [ns.gateway, ['nodes', nodeName, 'namespaces', name, 'gateway']]),
    ];
    for (const [gateway, path] of gateways) {
      const owner = gateway === undefined ? undefined : addresses.firstPathOf(gateway);
      if (owner) findings.push({ path, message: `gateway ${gateway} is the address assigned at ${showPath(owner)}; a gateway must be another machine` });
    }
  }
}

export function checkSemantics(config: Config): Finding[] {
  const findings: Finding[] = [];
  const addresses = new FirstUse(findings);
  const macs = new FirstUse(findings);
  for (const [nodeName, node] of Object.entries(config.nodes)) checkNode(findings, config, nodeName, node, addresses, macs);
  checkGatewaysAreNotAssigned(findings, config, addresses);
  if (Object.keys(config.nodes).length === 0) findings.push({ path: ['nodes'], message: 'no nodes: add at least one' });
  return findings;
}
