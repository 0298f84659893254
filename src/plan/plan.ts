// buildPlan: validated Config -> one NodePlan per node, with every inherited and derived value resolved.
import type { Config, NodeConfig } from '../config/schema.js';
import type { MacvlanMode } from '../config/rules.js';
import {
  namespaceEntries,
  namespaceMacOwner,
  namespaceMode,
  namespaceMtu,
  namespaceNodad,
  namespaceVlan,
  parentPromisc,
  resolveMac,
  shimMacOwner,
  shimMode,
  vlanDevice,
} from '../config/inherit.js';
import { canonicalCidr, familyOf, hostOf, networkOf } from '../ip.js';
import { ipv4Of, ofFamily } from '../config/families.js';

export interface RoutePlan {
  to: string;
  via: string;
}

interface MacvlanPlan {
  interface: string;
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
  /** Routes of both families; each route's `to` and `via` are of one. */
  routes: RoutePlan[];
  sourceMacs: string[];
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

/** Steps in the order apply runs them; each names the template partial that renders it. */
export const STEP_ORDER = ['promisc', 'vlan', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'host-shim'] as const;
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
  promisc: boolean;
  /** The VLAN devices the namespaces need, by id; none when every namespace is on the untagged parent. */
  vlans: VlanPlan[];
  namespaces: NamespacePlan[];
  hostShim?: HostShimPlan;
  steps: StepPlan[];
  install: InstallPlan;
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

function planNode(config: Config, name: string, node: NodeConfig): NodePlan {
  const namespaces = namespaceEntries(node).map(([nsName, ns]): NamespacePlan => {
    const vlan = namespaceVlan(config, node, ns);
    return withOptional(
      {
        name: nsName,
        lower: vlan === undefined ? node.parent : vlanDevice(node.parent, vlan),
        interface: ns.interface,
        mode: namespaceMode(config, node, ns),
        address: ipv4Of(ns.address),
        routes: spelledRoutes(ns.routes),
        sourceMacs: (ns.sourceMacs ?? []).map((mac) => mac.toLowerCase()),
      },
      {
        mtu: namespaceMtu(config, node, ns),
        mac: resolveMac(config, name, namespaceMacOwner(nsName), ns.mac),
        gateway: ofFamily(ns.gateway, 4),
        address6: spelledOptional(ofFamily(ns.address, 6)),
        gateway6: spelledOptional(ofFamily(ns.gateway, 6)),
        nodad: ofFamily(ns.address, 6) !== undefined && namespaceNodad(config, node, ns) ? true : undefined,
        vlan,
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
    shim && gateway !== undefined
      ? withOptional(
          {
            interface: shim.interface,
            mode: shimMode(shim),
            subnet: networkOf(hostAddress),
            gateway,
            routes: spelledRoutes(shim.routes),
            probes: (shim.probes ?? (gateway6 === undefined ? [gateway] : [gateway, gateway6])).map(spelled),
          },
          {
            mtu: shim.mtu,
            mac: resolveMac(config, name, shimMacOwner(shim), shim.mac),
            confirmTimeout: shim.confirmTimeout,
            subnet6: hostAddress6 === undefined ? undefined : networkOf(hostAddress6),
            gateway6,
          },
        )
      : undefined;

  const promisc = parentPromisc(config, node);
  const present: Record<StepId, boolean> = {
    promisc,
    vlan: vlans.length > 0,
    netns: namespaces.length > 0,
    'macvlan-link': namespaces.length > 0,
    'move-to-netns': namespaces.length > 0,
    address: namespaces.length > 0,
    'link-up': namespaces.length > 0,
    routes: namespaces.some((ns) => ns.gateway !== undefined || ns.gateway6 !== undefined || ns.routes.length > 0),
    'host-shim': hostShim !== undefined,
  };

  return withOptional(
    {
      name,
      parent: node.parent,
      hostAddress,
      hostIp: hostOf(hostAddress),
      ipv6: hostAddress6 !== undefined || namespaces.some((ns) => ns.address6 !== undefined),
      promisc,
      vlans,
      namespaces,
      steps: STEP_ORDER.filter((id) => present[id]).map((id) => ({ id })),
      install: installPlan(name),
    },
    { gateway, hostAddress6, gateway6, hostShim },
  );
}

export function buildPlan(config: Config): Plan {
  return { nodes: Object.entries(config.nodes).map(([name, node]) => planNode(config, name, node)) };
}
