// How values flow down: namespace, then node, then defaults, then the built-in default.
import type { MacvlanMode } from './rules.js';
import type { Config, HostShimConfig, NamespaceConfig, NodeConfig } from './schema.js';
import { deriveMac } from './mac.js';

export const DEFAULT_MODE: MacvlanMode = 'bridge';
export const DEFAULT_PROMISC = true;

export function namespaceMode(config: Config, node: NodeConfig, namespace: NamespaceConfig): MacvlanMode {
  return namespace.mode ?? node.mode ?? config.defaults?.mode ?? DEFAULT_MODE;
}

export function shimMode(shim: HostShimConfig): MacvlanMode {
  return shim.mode ?? DEFAULT_MODE;
}

export function namespaceMtu(config: Config, node: NodeConfig, namespace: NamespaceConfig): number | undefined {
  return namespace.mtu ?? node.mtu ?? config.defaults?.mtu;
}

/** Whether a namespace's IPv6 address skips duplicate address detection; by default apply waits for it. */
export function namespaceNodad(config: Config, node: NodeConfig, namespace: NamespaceConfig): boolean {
  return namespace.nodad ?? node.nodad ?? config.defaults?.nodad ?? false;
}

/** The 802.1Q VLAN a namespace's macvlan sits on, or undefined for the untagged parent. */
export function namespaceVlan(config: Config, node: NodeConfig, namespace: NamespaceConfig): number | undefined {
  return namespace.vlan ?? node.vlan ?? config.defaults?.vlan;
}

/** The name of the VLAN device apply creates on the parent: `ens160.50`. */
export const vlanDevice = (parent: string, vlan: number): string => `${parent}.${vlan}`;

export function parentPromisc(config: Config, node: NodeConfig): boolean {
  return node.promisc ?? config.defaults?.promisc ?? DEFAULT_PROMISC;
}

/**
 * The MAC an interface gets from its own setting, else the defaults': a literal one, one derived for `auto`, or none
 * for `random` or nothing set (the kernel picks a random one).
 */
export function resolveMac(config: Config, nodeName: string, ownerName: string, own: string | undefined): string | undefined {
  const mac = own ?? config.defaults?.mac;
  if (mac === 'auto') return deriveMac(nodeName, ownerName);
  return mac === 'random' ? undefined : mac?.toLowerCase();
}

export const shimMacOwner = (shim: HostShimConfig): string => `hostShim/${shim.interface}`;
export const namespaceMacOwner = (namespaceName: string): string => `netns/${namespaceName}`;

export function namespaceEntries(node: NodeConfig): [string, NamespaceConfig][] {
  return Object.entries(node.namespaces ?? {});
}
