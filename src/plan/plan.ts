// buildPlan: validated Config -> one NodePlan per node, with every inherited and derived value resolved.
import type { Config, HostShimConfig, NamespaceConfig, NodeConfig } from '../config/schema.js';
import type { LinkType, MacvlanMode } from '../config/rules.js';
import {
  linkMac,
  namespaceEntries,
  namespaceMacOwner,
  namespaceMode,
  namespaceMtu,
  namespaceNodad,
  namespaceResolver,
  namespaceType,
  namespaceVlan,
  nodeType,
  parentPromisc,
  shimMacOwner,
  shimMode,
  vlanDevice,
} from '../config/inherit.js';
import { canonicalAddress, canonicalCidr, familyOf, hostOf, networkOf } from '../ip.js';
import { beyondFirstOfFamily, ipv4Of, listOf, ofFamily } from '../config/families.js';
import { nodeSsh, type SshConfig } from '../config/ssh.js';

export interface RoutePlan {
  to: string;
  via: string;
}

interface MacvlanPlan {
  interface: string;
  /** macvlan or ipvlan: one for every link of a node (validation sees to it). */
  type: LinkType;
  mode: MacvlanMode;
  mtu?: number;
  mac?: string;
}

export interface NamespacePlan extends MacvlanPlan {
  name: string;
  /** The device the macvlan sits on: the parent, or the VLAN device `<parent>.<vlan>`. */
  lower: string;
  vlan?: number;
  /** The IPv4 address, which every namespace has. */
  address: string;
  gateway?: string;
  /** Dual stack: the IPv6 address and gateway. */
  address6?: string;
  gateway6?: string;
  /** Add the IPv6 address without duplicate address detection (`nodad`) instead of waiting for it. */
  nodad?: boolean;
  /** Addresses after the first of each family, added after them in the config's order. */
  moreAddresses?: MoreAddressPlan[];
  /** Routes of both families; each route's `to` and `via` are of one. */
  routes: RoutePlan[];
  sourceMacs: string[];
  /** The namespace's /etc/netns/NAME/resolv.conf, whole, where the config gives it nameservers. */
  resolvConf?: string;
}

export interface MoreAddressPlan {
  address: string;
  /** An IPv6 address added with `nodad`. */
  nodad?: boolean;
  /**
   * An IPv6 address in the prefix of an earlier one, added deprecated (`preferred_lft 0`): it answers, but Linux would
   * otherwise pick the newest address of a prefix as the source of new connections there.
   */
  notSource?: boolean;
}

/** Every address of a namespace, with prefix: the first of each family, then the further ones. */
export function namespaceAddresses(ns: NamespacePlan): string[] {
  return [ns.address, ...(ns.address6 === undefined ? [] : [ns.address6]), ...(ns.moreAddresses ?? []).map((more) => more.address)];
}

/** An 802.1Q VLAN device on the parent that namespaces sit on: `ip link add link PARENT name NAME type vlan id ID`. */
export interface VlanPlan {
  id: number;
  name: string;
}

export interface HostShimPlan extends MacvlanPlan {
  /** The host's connected subnet, re-added on the shim by the migration. */
  subnet: string;
  gateway: string;
  /** Dual stack: the host's IPv6 subnet and gateway, moved with the IPv4 ones. */
  subnet6?: string;
  gateway6?: string;
  routes: RoutePlan[];
  probes: string[];
  confirmTimeout?: number;
}

/** A host route through the shim to one namespace address, from the shim's own address of that family. */
export interface ShimRoutePlan {
  to: string;
  src: string;
}

/** The host shim's other strategy: an address of its own and a host route to each namespace; the host address stays. */
export interface AddressShimPlan extends MacvlanPlan {
  /** The shim's IPv4 address, /32. */
  address: string;
  /** Dual stack: its IPv6 address, /128. */
  address6?: string;
  routes: ShimRoutePlan[];
  routes6: ShimRoutePlan[];
}

/** Steps in the order apply runs them; each names the template partial that renders it. */
export const STEP_ORDER = ['promisc', 'vlan', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'dns', 'host-shim', 'shim-address'] as const;
export type StepId = (typeof STEP_ORDER)[number];

export interface StepPlan {
  id: StepId;
}

/** Where `node.sh install` puts the node's boot-time setup. */
export interface InstallPlan {
  /** The systemd unit's name, in /etc/systemd/system. */
  unit: string;
  /** The installed copy of the node script that the unit runs. */
  script: string;
}

export function installPlan(node: string): InstallPlan {
  return { unit: `macvlan-gen-${node}.service`, script: `/usr/local/sbin/macvlan-gen-${node}` };
}

export interface NodePlan {
  name: string;
  parent: string;
  hostAddress: string;
  hostIp: string;
  gateway?: string;
  /** Dual stack: the host's IPv6 address on the parent, and its IPv6 gateway. */
  hostAddress6?: string;
  gateway6?: string;
  /** Anything of IPv6 on this node: the script then reads and sets up both families. */
  ipv6: boolean;
  /** The type of every link this node makes on its parent. */
  linkType: LinkType;
  /** Its links are ipvlans: the script then reads and names ipvlans (absent for macvlan, so its script stays as it was). */
  ipvlan?: boolean;
  /** The mode of the throwaway link preflight makes: an ipvlan one sets the mode of every child on the parent. */
  probeMode: MacvlanMode;
  /** Some namespace has a resolver to write. */
  dns?: true;
  /** Some namespace has more than one address of a family. */
  moreAddresses?: true;
  promisc: boolean;
  /** The VLAN devices the namespaces need, by id; none when every namespace is on the untagged parent. */
  vlans: VlanPlan[];
  namespaces: NamespacePlan[];
  hostShim?: HostShimPlan;
  /** A host shim with `address`: the host address never moves (exclusive with hostShim). */
  addressShim?: AddressShimPlan;
  steps: StepPlan[];
  install: InstallPlan;
  /** How Ansible reaches the node, where the config says (`generate --ansible`; the script does not use it). */
  ssh?: SshConfig;
}

export interface Plan {
  nodes: NodePlan[];
}

/** IPv6 values in the one spelling `ip` prints them in, so that the script finds them in its output; IPv4 as written. */
const spelled = (value: string): string => (familyOf(value) === 6 ? canonicalCidr(value) : value);
const spelledOptional = (value: string | undefined): string | undefined => (value === undefined ? undefined : spelled(value));
const spelledRoutes = (routes: RoutePlan[] | undefined): RoutePlan[] => (routes ?? []).map((route) => ({ to: spelled(route.to), via: spelled(route.via) }));

function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const defined = Object.entries(optional).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(defined) };
}

function planAddressShim(config: Config, nodeName: string, node: NodeConfig, shim: HostShimConfig, address: string | string[], namespaces: NamespacePlan[]): AddressShimPlan {
  const shimAddress = ipv4Of(address);
  const shimAddress6 = spelledOptional(ofFamily(address, 6));
  const routesTo = (addresses: (string | undefined)[], src: string | undefined): ShimRoutePlan[] =>
    src === undefined ? [] : addresses.flatMap((cidr) => (cidr === undefined ? [] : [{ to: hostOf(cidr), src: hostOf(src) }]));
  return withOptional(
    {
      interface: shim.interface,
      // Validation keeps this strategy to macvlan nodes.
      type: nodeType(config, node),
      mode: shimMode(config, node, shim),
      address: shimAddress,
      routes: routesTo(namespaces.flatMap((ns) => namespaceAddresses(ns).filter((cidr) => familyOf(cidr) === 4)), shimAddress),
      routes6: routesTo(namespaces.flatMap((ns) => namespaceAddresses(ns).filter((cidr) => familyOf(cidr) === 6)), shimAddress6),
    },
    { mtu: shim.mtu, mac: linkMac(config, nodeName, shimMacOwner(shim), shim.mac, nodeType(config, node)), address6: shimAddress6 },
  );
}

/** A namespace's addresses after the first of each family, spelt as `ip` prints them; none: undefined. */
function moreAddressesOf(config: Config, node: NodeConfig, namespace: NamespaceConfig): MoreAddressPlan[] | undefined {
  const more = beyondFirstOfFamily(namespace.address);
  if (more.length === 0) return undefined;
  const nodad = namespaceNodad(config, node, namespace);
  const all = listOf(namespace.address);
  // An IPv6 address in the prefix of an earlier one would become the source there: it is added deprecated.
  const sharesPrefix = (address: string): boolean => all.slice(0, all.indexOf(address)).some((earlier) => familyOf(earlier) === 6 && networkOf(earlier) === networkOf(address));
  return more.map((address) =>
    familyOf(address) === 6
      ? { address: spelled(address), ...(nodad && { nodad: true }), ...(sharesPrefix(address) && { notSource: true }) }
      : { address: spelled(address) },
  );
}

/** A namespace's resolv.conf: a first line that marks it as this tool's (the script replaces and removes only such files), then the resolver's. */
function resolvConfOf(config: Config, nodeName: string, namespaceName: string, namespace: NamespaceConfig): string | undefined {
  const resolver = namespaceResolver(config, namespace);
  if (resolver === undefined) return undefined;
  return [
    `# macvlan-gen: the resolver of namespace ${namespaceName} on node ${nodeName}, from its config; teardown removes this file.`,
    ...resolver.nameservers.map((nameserver) => `nameserver ${canonicalAddress(nameserver)}`),
    ...(resolver.search.length > 0 ? [`search ${resolver.search.join(' ')}`] : []),
    '',
  ].join('\n');
}

function planNode(config: Config, name: string, node: NodeConfig): NodePlan {
  const namespaces = namespaceEntries(node).map(([nsName, ns]): NamespacePlan => {
    const vlan = namespaceVlan(config, node, ns);
    return withOptional(
      {
        name: nsName,
        lower: vlan === undefined ? node.parent : vlanDevice(node.parent, vlan),
        interface: ns.interface,
        type: namespaceType(config, node, ns),
        mode: namespaceMode(config, node, ns),
        address: ipv4Of(ns.address),
        routes: spelledRoutes(ns.routes),
        sourceMacs: (ns.sourceMacs ?? []).map((mac) => mac.toLowerCase()),
      },
      {
        mtu: namespaceMtu(config, node, ns),
        mac: linkMac(config, name, namespaceMacOwner(nsName), ns.mac, namespaceType(config, node, ns)),
        gateway: ofFamily(ns.gateway, 4),
        address6: spelledOptional(ofFamily(ns.address, 6)),
        gateway6: spelledOptional(ofFamily(ns.gateway, 6)),
        nodad: ofFamily(ns.address, 6) !== undefined && namespaceNodad(config, node, ns) ? true : undefined,
        vlan,
        resolvConf: resolvConfOf(config, name, nsName, ns),
        moreAddresses: moreAddressesOf(config, node, ns),
      },
    );
  });
  const vlans = [...new Set(namespaces.flatMap((ns) => (ns.vlan === undefined ? [] : [ns.vlan])))]
    .sort((a, b) => a - b)
    .map((id): VlanPlan => ({ id, name: vlanDevice(node.parent, id) }));

  const shim = node.hostShim;
  const hostAddress = ipv4Of(node.address);
  const gateway = ofFamily(node.gateway, 4);
  const hostAddress6 = spelledOptional(ofFamily(node.address, 6));
  const gateway6 = spelledOptional(ofFamily(node.gateway, 6));
  // Validation guarantees an IPv4 gateway whenever there is a host shim.
  const hostShim: HostShimPlan | undefined =
    shim && shim.address === undefined && gateway !== undefined
      ? withOptional(
          {
            interface: shim.interface,
            type: nodeType(config, node),
            mode: shimMode(config, node, shim),
            subnet: networkOf(hostAddress),
            gateway,
            routes: spelledRoutes(shim.routes),
            probes: (shim.probes ?? (gateway6 === undefined ? [gateway] : [gateway, gateway6])).map(spelled),
          },
          {
            mtu: shim.mtu,
            mac: linkMac(config, name, shimMacOwner(shim), shim.mac, nodeType(config, node)),
            confirmTimeout: shim.confirmTimeout,
            subnet6: hostAddress6 === undefined ? undefined : networkOf(hostAddress6),
            gateway6,
          },
        )
      : undefined;

  const addressShim = shim?.address === undefined ? undefined : planAddressShim(config, name, node, shim, shim.address, namespaces);

  const promisc = parentPromisc(config, node);
  const linkType = namespaces[0]?.type ?? nodeType(config, node);
  const ipvlanMode = namespaces[0]?.mode ?? hostShim?.mode ?? 'l2';
  const present: Record<StepId, boolean> = {
    promisc,
    vlan: vlans.length > 0,
    netns: namespaces.length > 0,
    'macvlan-link': namespaces.length > 0,
    'move-to-netns': namespaces.length > 0,
    address: namespaces.length > 0,
    'link-up': namespaces.length > 0,
    routes: namespaces.some((ns) => ns.gateway !== undefined || ns.gateway6 !== undefined || ns.routes.length > 0),
    dns: namespaces.some((ns) => ns.resolvConf !== undefined),
    'host-shim': hostShim !== undefined,
    'shim-address': addressShim !== undefined,
  };

  return withOptional(
    {
      name,
      parent: node.parent,
      hostAddress,
      hostIp: hostOf(hostAddress),
      ipv6: hostAddress6 !== undefined || namespaces.some((ns) => ns.address6 !== undefined),
      linkType,
      probeMode: linkType === 'ipvlan' ? ipvlanMode : 'bridge',
      promisc,
      vlans,
      namespaces,
      steps: STEP_ORDER.filter((id) => present[id]).map((id) => ({ id })),
      install: installPlan(name),
    },
    {
      gateway,
      hostAddress6,
      gateway6,
      hostShim,
      addressShim,
      dns: present.dns ? true : undefined,
      ipvlan: linkType === 'ipvlan' ? true : undefined,
      moreAddresses: namespaces.some((ns) => ns.moreAddresses !== undefined) ? true : undefined,
      ssh: nodeSsh(config, node),
    },
  );
}

export function buildPlan(config: Config): Plan {
  return { nodes: Object.entries(config.nodes).map(([name, node]) => planNode(config, name, node)) };
}
