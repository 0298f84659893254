// IP arithmetic for both families on already validated strings, through ipaddr.js.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/** 4 or 6; validation guarantees one of them. */
export function familyOf(addressOrCidr: string): Family {
  return hostOf(addressOrCidr).includes(':') ? 6 : 4;
}

export function hostOf(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash === -1 ? cidr : cidr.slice(0, slash);
}

/** One spelling per address ("2001:DB8:0::1" and "2001:db8::1" are the same), for comparisons and keys. */
export function canonicalAddress(address: string): string {
  return ipaddr.parse(address).toString();
}

/** An address with prefix in the spelling `ip` prints: "2001:DB8:0::9/64" -> "2001:db8::9/64". */
export function canonicalCidr(cidr: string): string {
  const [host, prefix] = cidr.split('/');
  return prefix === undefined ? canonicalAddress(cidr) : `${canonicalAddress(host ?? cidr)}/${prefix}`;
}

export function networkOf(cidr: string): string {
  if (familyOf(cidr) === 6) {
    const [, prefix] = ipaddr.IPv6.parseCIDR(cidr);
    return `${ipaddr.IPv6.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
  }
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
}

/** "192.168.0.0/16" -> "255.255.0.0" */
export function netmaskOf(cidr: string): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(ipaddr.IPv4.parseCIDR(cidr)[1]).toString();
}

/** Whether an address lies inside a subnet; never across families. */
export function isInSubnet(address: string, cidr: string): boolean {
  if (familyOf(address) !== familyOf(cidr)) return false;
  return familyOf(cidr) === 6
    ? ipaddr.IPv6.parse(address).match(ipaddr.IPv6.parseCIDR(cidr))
    : ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}

/** fe80::/10: valid only together with the interface it is reached through. */
export function isLinkLocal6(address: string): boolean {
  return familyOf(address) === 6 && ipaddr.IPv6.parse(address).range() === 'linkLocal';
}

/** ipaddr.js's name of the range an address is in: "unicast", "loopback", "multicast", "unspecified", "linkLocal", ... */
export function rangeOf(address: string): string {
  return ipaddr.parse(address).range();
}

const RANGE_NAMES: Record<string, string> = {
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  reserved: 'a reserved address',
};

/** "a multicast address", for messages about a range from rangeOf. */
export const describeRange = (range: string): string => RANGE_NAMES[range] ?? `a ${range} address`;

/** RFC 2526 reserves the highest 128 interface identifiers of an IPv6 subnet for anycast. */
const RESERVED_ANYCAST6 = 128n;

const toBigInt = (bytes: number[]): bigint => bytes.reduce((sum, byte) => sum * 256n + BigInt(byte), 0n);

function fromBigInt(value: bigint, family: Family): string {
  const length = family === 6 ? 16 : 4;
  const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt(8 * (length - 1 - i))) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/**
 * The highest host address of a subnet that is not taken, or undefined when every one is (or it has none): below the
 * broadcast address in IPv4, below the reserved anycast addresses in an IPv6 subnet large enough to have them.
 */
export function highestFreeHost(cidr: string, taken: Set<string>): string | undefined {
  const family = familyOf(cidr);
  const [address, prefix] = ipaddr.parseCIDR(cidr);
  const bits = family === 6 ? 128 : 32;
  if (prefix >= bits - 1) return undefined;
  const size = 1n << BigInt(bits - prefix);
  const network = toBigInt(address.toByteArray()) & ~(size - 1n);
  const reserved = family === 4 ? 1n : size > 2n * RESERVED_ANYCAST6 ? RESERVED_ANYCAST6 : 0n;
  for (let host = network + size - 1n - reserved; host > network; host--) {
    const candidate = fromBigInt(host, family);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}
