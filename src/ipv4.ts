// IPv4 arithmetic on already validated strings, through ipaddr.js.
import ipaddr from 'ipaddr.js';

export function hostOf(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

export function networkOf(cidr: string): string {
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  return `${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`;
}

export function isInSubnet(address: string, cidr: string): boolean {
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parseCIDR(cidr));
}
