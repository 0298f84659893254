// buildPlan: validated Config -> one NodePlan per node, with every inherited and derived value resolved.
import type { Config, NodeConfig } from '../config/schema.js';
import type { MacvlanMode } from '../config/rules.js';
import {
  namespaceEntries,
  namespaceMacOwner,
  namespaceMode,
  namespaceMtu,
  parentPromisc,
  resolveMac,
  shimMacOwner,
  shimMode,
} from '../config/inherit.js';
import { familyOf, hostOf, networkOf } from '../ip.js';
import { ipv4Of, listOf, ofFamily } from '../config/families.js';
import { ConfigError } from '../errors.js';

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
  address: string;
  gateway?: string;
  routes: RoutePlan[];
  sourceMacs: string[];
}

export interface HostShimPlan extends MacvlanPlan {
  /** The host's connected subnet, re-added on the shim by the migration. */
  subnet: string;
  gateway: string;
  routes: RoutePlan[];
  probes: string[];
  confirmTimeout?: number;
}

/** Steps in the order apply runs them; each names the template partial that renders it. */
export const STEP_ORDER = ['promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'host-shim'] as const;
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
  promisc: boolean;
  namespaces: NamespacePlan[];
  hostShim?: HostShimPlan;
  steps: StepPlan[];
  install: InstallPlan;
}

export interface Plan {
  nodes: NodePlan[];
}

function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const defined = Object.entries(optional).filter(([, value]) => value !== undefined);
  return { ...base, ...Object.fromEntries(defined) };
}

/**
 * The IPv6 values of a node, which validation accepts and the node script does not set up yet (issue 16): generating
 * from them is refused rather than done in part.
 */
function ipv6ValuesOf(node: NodeConfig): string[] {
  const namespaces = namespaceEntries(node).map(([, ns]) => ns);
  const values = [
    ...listOf(node.address),
    ...listOf(node.gateway),
    ...(node.hostShim?.routes ?? []).map((route) => route.to),
    ...(node.hostShim?.probes ?? []),
    ...namespaces.flatMap((ns) => [...listOf(ns.address), ...listOf(ns.gateway), ...(ns.routes ?? []).map((route) => route.to)]),
  ];
  return values.filter((value) => familyOf(value) === 6);
}

function planNode(config: Config, name: string, node: NodeConfig): NodePlan {
  const ipv6 = ipv6ValuesOf(node);
  if (ipv6.length > 0) {
    throw new ConfigError(`node ${name}: IPv6 (${ipv6.join(', ')}) is validated but not yet set up by the node scripts; remove it to generate`);
  }
  const namespaces = namespaceEntries(node).map(([nsName, ns]): NamespacePlan =>
    withOptional(
      {
        name: nsName,
        interface: ns.interface,
        mode: namespaceMode(config, node, ns),
        address: ipv4Of(ns.address),
        routes: ns.routes ?? [],
        sourceMacs: (ns.sourceMacs ?? []).map((mac) => mac.toLowerCase()),
      },
      { mtu: namespaceMtu(config, node, ns), mac: resolveMac(name, namespaceMacOwner(nsName), ns.mac), gateway: ofFamily(ns.gateway, 4) },
    ),
  );

  const shim = node.hostShim;
  const hostAddress = ipv4Of(node.address);
  const gateway = ofFamily(node.gateway, 4);
  // Validation guarantees an IPv4 gateway whenever there is a host shim.
  const hostShim: HostShimPlan | undefined =
    shim && gateway !== undefined
      ? withOptional(
          {
            interface: shim.interface,
            mode: shimMode(shim),
            subnet: networkOf(hostAddress),
            gateway,
            routes: shim.routes ?? [],
            probes: shim.probes ?? [gateway],
          },
          { mtu: shim.mtu, mac: resolveMac(name, shimMacOwner(shim), shim.mac), confirmTimeout: shim.confirmTimeout },
        )
      : undefined;

  const promisc = parentPromisc(config, node);
  const present: Record<StepId, boolean> = {
    promisc,
    netns: namespaces.length > 0,
    'macvlan-link': namespaces.length > 0,
    'move-to-netns': namespaces.length > 0,
    address: namespaces.length > 0,
    'link-up': namespaces.length > 0,
    routes: namespaces.some((ns) => ns.gateway !== undefined || ns.routes.length > 0),
    'host-shim': hostShim !== undefined,
  };

  return withOptional(
    {
      name,
      parent: node.parent,
      hostAddress,
      hostIp: hostOf(hostAddress),
      promisc,
      namespaces,
      steps: STEP_ORDER.filter((id) => present[id]).map((id) => ({ id })),
      install: installPlan(name),
    },
    { gateway, hostShim },
  );
}

export function buildPlan(config: Config): Plan {
  return { nodes: Object.entries(config.nodes).map(([name, node]) => planNode(config, name, node)) };
}
