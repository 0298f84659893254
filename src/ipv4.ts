// IPv4 arithmetic on already validated strings, through ipaddr.js.
import ipaddr from 'ipaddr.js';

export function hostOf(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

export function networkOf(cidr: string): string {
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
}

/** "192.168.0.0/16" -> "255.255.0.0" */
export function netmaskOf(cidr: string): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(ipaddr.IPv4.parseCIDR(cidr)[1]).toString();
}

export function isInSubnet(address: string, cidr: string): boolean {
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}

/** The highest host address of a subnet that is not taken, or undefined when every one is (or it has none). */
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
