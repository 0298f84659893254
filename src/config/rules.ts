// Single-value rules shared by the schema (shape) and the semantic checks. Each returns a message or undefined.
import ipaddr from 'ipaddr.js';

export const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru', 'source'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

export const INTERFACE_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$';
export const NODE_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
export const NETNS_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$';
export const MAC_PATTERN = '^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$';
export const MTU_MIN = 68;
export const MTU_MAX = 65535;

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
  return checkName(value, 15, SAFE_NAME_TEXT, mustNotStartWithDotOrDash);
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

/** An interface address: host bits must not be all zeros or all ones (except /31 and /32). */
export function checkInterfaceCidr(value: string): string | undefined {
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

/** A route destination: the address must be the network itself, as `ip route add` requires. */
export function checkRouteCidr(value: string): string | undefined {
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

export function checkMacOrAuto(value: string): string | undefined {
  return value === 'auto' ? undefined : checkMac(value);
}

export function checkMtu(value: number): string | undefined {
  if (!Number.isInteger(value) || value < MTU_MIN || value > MTU_MAX) return `MTU ${value} must be a whole number from ${MTU_MIN} to ${MTU_MAX}`;
  return undefined;
}
