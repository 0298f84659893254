// IP arithmetic for both families on already validated strings, through ipaddr.js.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

/** 4 or 6; validation guarantees one of them. */
export function familyOf(addressOrCidr: string): Family {
  return hostOf(addressOrCidr).includes(':') ? 6 : 4;
}

export function hostOf(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
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

/** The highest host address of an IPv4 subnet that is not taken, or undefined when every one is (or it has none). */
export function highestFreeHost(cidr: string, taken: Set<string>): string | undefined {
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  if (prefix >= 31) return undefined;
  const toNumber = (address: ipaddr.IPv4): number => address.toByteArray().reduce((sum, byte) => sum * 256 + byte, 0);
  const network = toNumber(ipaddr.IPv4.networkAddressFromCIDR(cidr));
  for (let host = toNumber(ipaddr.IPv4.broadcastAddressFromCIDR(cidr)) - 1; host > network; host--) {
    const address = [24, 16, 8, 0].map((shift) => Math.floor(host / 2 ** shift) % 256).join('.');
    if (!taken.has(address)) return address;
  }
  return undefined;
}
