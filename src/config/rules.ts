// Single-value rules shared by the schema (shape) and the semantic checks. Each returns a message or undefined.
import ipaddr from 'ipaddr.js';

export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru', 'source'] as const;
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
export const LINK_TYPES = ['macvlan', 'ipvlan'] as const;
export type LinkType = (typeof LINK_TYPES)[number];
/** A mode of either link type: the names do not overlap, so a mode also tells its type. */
export type MacvlanMode = (typeof MACVLAN_MODES)[number] | (typeof IPVLAN_MODES)[number];
export const MODES_OF_TYPE: Record<LinkType, readonly MacvlanMode[]> = { macvlan: MACVLAN_MODES, ipvlan: IPVLAN_MODES };

export const INTERFACE_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$';
export const NODE_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
export const NETNS_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$';
export const MAC_PATTERN = '^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$';
export const MTU_MIN = 68;
export const MTU_MAX = 65535;
/** 802.1Q VLAN ids: 0 (priority tag) and 4095 are reserved. */
export const VLAN_MIN = 1;
export const VLAN_MAX = 4094;
/** IFNAMSIZ less its NUL: the longest interface name the kernel takes. */
export const INTERFACE_NAME_MAX = 15;

const SAFE_NAME_CHAR = /[A-Za-z0-9_.-]/;

function checkName(value: string, maxLength: number, allowedText: string, extra?: (v: string) => string | undefined): string | undefined {
  const shown = JSON.stringify(value);
  if (value.length === 0) return `must not be empty; use 1-${maxLength} characters of ${allowedText}`;
  if (value.length > maxLength) return `${shown} is ${value.length} characters, must be at most ${maxLength}`;
  const bad = [...value].find((ch) => !SAFE_NAME_CHAR.test(ch));
  if (bad !== undefined) return `${shown} contains ${JSON.stringify(bad)}, which is not allowed; use ${allowedText}`;
  return extra?.(value);
}

const SAFE_NAME_TEXT = 'letters, digits, "_", "." and "-"';
const mustNotStartWithDotOrDash = (v: string): string | undefined =>
  /^[.-]/.test(v) ? `${JSON.stringify(v)} must not start with "." or "-"` : undefined;

/** Names the kernel or iproute2 keep for themselves, with the reason each cannot name a macvlan interface or parent. */
export const RESERVED_INTERFACE_NAMES: ReadonlyMap<string, string> = new Map([
  ['lo', 'is the loopback interface: every namespace already has one, and macvlan cannot sit on it'],
  ['all', 'is reserved: /proc/sys/net/ipv4/conf/all sets every interface, so the kernel cannot register a device of that name'],
  ['default', 'is reserved: /proc/sys/net/ipv4/conf/default sets new interfaces, so the kernel cannot register a device of that name'],
]);

/** Map keys every JavaScript object already has: a node or namespace of that name would be lost or misread. */
export const RESERVED_KEY_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

const reservedKey = (value: string): string | undefined =>
  RESERVED_KEY_NAMES.includes(value) ? `${JSON.stringify(value)} is reserved (every JavaScript object has a property of that name); choose another name` : undefined;

export function checkInterfaceName(value: string): string | undefined {
  const reserved = RESERVED_INTERFACE_NAMES.get(value);
  if (reserved !== undefined) return `${JSON.stringify(value)} ${reserved}; choose another name`;
  return checkName(value, INTERFACE_NAME_MAX, SAFE_NAME_TEXT, mustNotStartWithDotOrDash);
}

export function checkNetnsName(value: string): string | undefined {
  return checkName(value, 64, SAFE_NAME_TEXT, (v) => mustNotStartWithDotOrDash(v) ?? reservedKey(v));
}

export function checkNodeName(value: string): string | undefined {
  const reserved = reservedKey(value);
  if (reserved !== undefined) return `node name ${reserved}`;
  if (new RegExp(NODE_NAME_PATTERN).test(value)) return undefined;
  const shown = JSON.stringify(value);
  if (value.length === 0 || value.length > 63) return `node name ${shown} must be 1-63 characters`;
  return `node name ${shown} is not usable as a host and file name; use lowercase letters, digits and "-", not at the start or end`;
}

export function checkIpv4(value: string): string | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(value)
    ? undefined
    : `${JSON.stringify(value)} is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1`;
}

/** IPv6 text as iproute2 takes it: no zone index ("%eth0"), which only a socket address carries. */
function isIpv6(value: string): boolean {
  return !value.includes('%') && ipaddr.IPv6.isValid(value);
}

/** Why an IPv6 address cannot be given to an interface or used as a next hop, or undefined when it can. */
function ipv6UnicastProblem(value: string, shown: string, linkLocal: 'allowed' | 'refused'): string | undefined {
  switch (ipaddr.IPv6.parse(value).range()) {
    case 'unspecified':
      return `${shown} is the unspecified address ::`;
    case 'loopback':
      return `${shown} is the loopback address ::1`;
    case 'multicast':
      return `${shown} is a multicast address; use a unicast one`;
    case 'ipv4Mapped':
      return `${shown} is an IPv4-mapped address; write the IPv4 address itself`;
    case 'linkLocal':
      return linkLocal === 'allowed' ? undefined : `${shown} is link-local (fe80::/10): the kernel gives every interface one of its own; use a global or unique local address`;
    default:
      return undefined;
  }
}

/** An address of either family, as a gateway or next hop: an IPv6 one may be link-local (it is reached through the interface). */
export function checkIpAddress(value: string): string | undefined {
  if (!value.includes(':')) return checkIpv4(value);
  if (!isIpv6(value)) return `${JSON.stringify(value)} is not an IPv6 address; write it like 2001:db8::1 (without a %zone)`;
  return ipv6UnicastProblem(value, JSON.stringify(value), 'allowed');
}

function parseIpv6CidrParts(value: string): { address: string; prefix: number } | string {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return `${JSON.stringify(value)} is not an IPv6 CIDR; write ADDRESS/PREFIX, like 2001:db8:179::12/64`;
  const [, address = '', prefixText = ''] = match;
  if (!isIpv6(address)) return `${JSON.stringify(value)}: ${JSON.stringify(address)} is not an IPv6 address; write it like 2001:db8::1 (without a %zone)`;
  const prefix = Number(prefixText);
  if (prefix > 128) return `${JSON.stringify(value)} has prefix /${prefix}, must be 0-128`;
  return { address, prefix };
}

function checkInterfaceCidr6(value: string): string | undefined {
  const parts = parseIpv6CidrParts(value);
  if (typeof parts === 'string') return parts;
  const shown = JSON.stringify(value);
  if (parts.prefix === 0) return `${shown} has prefix /0, which is not an interface address`;
  const problem = ipv6UnicastProblem(parts.address, shown, 'refused');
  if (problem) return problem;
  // RFC 6164 point-to-point /127s and single /128s have no subnet-router anycast address.
  if (parts.prefix >= 127) return undefined;
  const network = ipaddr.IPv6.networkAddressFromCIDR(value).toString();
  if (ipaddr.IPv6.parse(parts.address).toString() === network) {
    return `${shown} is the subnet-router anycast address of ${network}/${parts.prefix}; use a host address`;
  }
  return undefined;
}

function checkRouteCidr6(value: string): string | undefined {
  const parts = parseIpv6CidrParts(value);
  if (typeof parts === 'string') return parts;
  const network = ipaddr.IPv6.networkAddressFromCIDR(value).toString();
  if (ipaddr.IPv6.parse(parts.address).toString() !== network) return `${JSON.stringify(value)} has host bits set; the network is ${network}/${parts.prefix}`;
  if (parts.prefix === 0) return `${JSON.stringify(value)} is the default route; set "gateway" instead`;
  return undefined;
}

function parseCidrParts(value: string): { address: string; prefix: number } | string {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(value);
  if (!match) return `${JSON.stringify(value)} is not an IPv4 CIDR; write ADDRESS/PREFIX, like 192.168.179.12/16`;
  const [, address = '', prefixText = ''] = match;
  const addressProblem = checkIpv4(address);
  if (addressProblem) return `${JSON.stringify(value)}: ${addressProblem}`;
  const prefix = Number(prefixText);
  if (prefix > 32) return `${JSON.stringify(value)} has prefix /${prefix}, must be 0-32`;
  return { address, prefix };
}

/**
 * An interface address. IPv4: host bits must not be all zeros or all ones (except /31 and /32). IPv6: a global or
 * unique local unicast address, not the subnet-router anycast one (all host bits zero; except /127 and /128).
 */
export function checkInterfaceCidr(value: string): string | undefined {
  if (value.includes(':')) return checkInterfaceCidr6(value);
  const parts = parseCidrParts(value);
  if (typeof parts === 'string') return parts;
  if (parts.prefix === 0) return `${JSON.stringify(value)} has prefix /0, which is not an interface address`;
  if (parts.prefix >= 31) return undefined;
  const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
  const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(value).toString();
  if (parts.address === network) return `${JSON.stringify(value)} is the network address of ${network}/${parts.prefix}; use a host address`;
  if (parts.address === broadcast) return `${JSON.stringify(value)} is the broadcast address of ${network}/${parts.prefix}; use a host address`;
  return undefined;
}

/** A route destination of either family: the address must be the network itself, as `ip route add` requires. */
export function checkRouteCidr(value: string): string | undefined {
  if (value.includes(':')) return checkRouteCidr6(value);
  const parts = parseCidrParts(value);
  if (typeof parts === 'string') return parts;
  const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
  if (parts.address !== network) return `${JSON.stringify(value)} has host bits set; the network is ${network}/${parts.prefix}`;
  if (parts.prefix === 0) return `${JSON.stringify(value)} is the default route; set "gateway" instead`;
  return undefined;
}

export function checkMac(value: string): string | undefined {
  if (!new RegExp(MAC_PATTERN).test(value)) {
    return `${JSON.stringify(value)} is not a MAC address; write six hex pairs separated by ":", like 02:42:ac:11:00:02`;
  }
  const firstOctet = parseInt(value.slice(0, 2), 16);
  if (firstOctet % 2 === 1) return `${JSON.stringify(value)} is a multicast MAC address; use a unicast one (first octet even)`;
  if (/^(00:){5}00$/.test(value)) return `${JSON.stringify(value)} is the all-zeros MAC address`;
  return undefined;
}

/** A MAC setting: a unicast MAC, `auto` (derived from the node and interface names) or `random` (the kernel's choice). */
export const MAC_KEYWORDS = ['auto', 'random'] as const;

export function checkMacSetting(value: string): string | undefined {
  if ((MAC_KEYWORDS as readonly string[]).includes(value)) return undefined;
  const problem = checkMac(value);
  return problem !== undefined && !new RegExp(MAC_PATTERN).test(value) ? `${problem}, or "auto" (derived) or "random"` : problem;
}

export function checkMtu(value: number): string | undefined {
  if (!Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) return `MTU ${value} must be a whole number from ${MTU_MIN} to ${MTU_MAX}`;
  return undefined;
}

/** glibc reads at most three nameservers (MAXNS) and, before 2.26, six search domains; musl likewise. */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_DOMAINS = 6;
export const SEARCH_DOMAIN_PATTERN = '^(?=.{1,253}\\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?$';

/** A resolv.conf search domain: DNS labels of letters, digits, `-` and `_`, at most 63 characters each, 253 in all. */
export function checkSearchDomain(value: string): string | undefined {
  if (new RegExp(SEARCH_DOMAIN_PATTERN).test(value)) return undefined;
  return `${JSON.stringify(value)} is not a domain name; write labels of letters, digits, "-" and "_" joined by dots, like lab.example.com (each label 1-63 characters, not starting or ending with "-"; 253 in all)`;
}
