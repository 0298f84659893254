// How values flow down: namespace, then node, then defaults, then the built-in default.
import type { LinkType, MacvlanMode } from './rules.js';
import type { Config, HostShimConfig, NamespaceConfig, NodeConfig } from './schema.js';
import { deriveMac } from './mac.js';

export const DEFAULT_MODE: MacvlanMode = 'bridge';
export const DEFAULT_PROMISC = true;

/** Without a mode anywhere: macvlan's bridge, ipvlan's l2 (the two in which children reach each other and the LAN). */
const DEFAULT_MODE_OF_TYPE: Record<LinkType, MacvlanMode> = { macvlan: DEFAULT_MODE, ipvlan: 'l2' };

export function nodeType(config: Config, node: NodeConfig): LinkType {
  return node.type ?? config.defaults?.type ?? 'macvlan';
}

export function namespaceType(config: Config, node: NodeConfig, namespace: NamespaceConfig): LinkType {
  return namespace.type ?? nodeType(config, node);
}

export function namespaceMode(config: Config, node: NodeConfig, namespace: NamespaceConfig): MacvlanMode {
  return namespace.mode ?? node.mode ?? config.defaults?.mode ?? DEFAULT_MODE_OF_TYPE[namespaceType(config, node, namespace)];
}

/** The host shim is of the node's type; an ipvlan shim shares its children's mode (the kernel keeps one per parent). */
export function shimMode(config: Config, node: NodeConfig, shim: HostShimConfig): MacvlanMode {
  if (shim.mode !== undefined || nodeType(config, node) === 'macvlan') return shim.mode ?? DEFAULT_MODE;
  const [first] = namespaceEntries(node);
  return first ? namespaceMode(config, node, first[1]) : (node.mode ?? config.defaults?.mode ?? DEFAULT_MODE_OF_TYPE.ipvlan);
}

/** Every link the node makes on its parent is an ipvlan: they share the parent's MAC, so it needs no promiscuous mode. */
export function onlyIpvlans(config: Config, node: NodeConfig): boolean {
  const types = [...namespaceEntries(node).map(([, ns]) => namespaceType(config, node, ns)), ...(node.hostShim ? [nodeType(config, node)] : [])];
  return types.length > 0 && types.every((type) => type === 'ipvlan');
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

/** A namespace's resolver: its own nameservers and search domains, else the defaults'; none when it has no nameserver. */
export function namespaceResolver(config: Config, namespace: NamespaceConfig): { nameservers: string[]; search: string[] } | undefined {
  const nameservers = namespace.dns ?? config.defaults?.dns ?? [];
  if (nameservers.length === 0) return undefined;
  return { nameservers, search: namespace.search ?? config.defaults?.search ?? [] };
}

/** A node whose links are all ipvlans takes promisc from its own key only: the defaults' concerns macvlan. */
export function parentPromisc(config: Config, node: NodeConfig): boolean {
  if (onlyIpvlans(config, node)) return node.promisc ?? false;
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

/** An ipvlan always has its parent's MAC: neither a literal MAC nor defaults.mac applies to it. */
export function linkMac(config: Config, nodeName: string, ownerName: string, own: string | undefined, type: LinkType): string | undefined {
  return type === 'ipvlan' ? undefined : resolveMac(config, nodeName, ownerName, own);
}

export const shimMacOwner = (shim: HostShimConfig): string => `hostShim/${shim.interface}`;
export const namespaceMacOwner = (namespaceName: string): string => `netns/${namespaceName}`;

export function namespaceEntries(node: NodeConfig): [string, NamespaceConfig][] {
  return Object.entries(node.namespaces ?? {});
}
