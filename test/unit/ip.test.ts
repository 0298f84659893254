import { describe, expect, it } from 'vitest';
import { canonicalAddress, familyOf, isInSubnet, isLinkLocal6, networkOf } from '../../src/ip.js';
import { checkInterfaceCidr, checkIpAddress, checkRouteCidr } from '../../src/config/rules.js';

describe('IP arithmetic for both families', () => {
  it('tells the family, the network and one spelling of an address', () => {
    expect(familyOf('192.168.1.1')).toBe(4);
    expect(familyOf('2001:db8::1/64')).toBe(6);
    expect(networkOf('2001:db8:179::12/64')).toBe('2001:db8:179::/64');
    expect(networkOf('192.168.179.12/16')).toBe('192.168.0.0/16');
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
  });

  it('matches subnets within a family only', () => {
    expect(isInSubnet('2001:db8:179::1', '2001:db8:179::12/64')).toBe(true);
    expect(isInSubnet('2001:db8:17a::1', '2001:db8:179::12/64')).toBe(false);
    expect(isInSubnet('192.168.1.1', '2001:db8:179::12/64')).toBe(false);
    expect(isInSubnet('::ffff:192.168.1.1', '192.168.0.0/16')).toBe(false);
    expect(isLinkLocal6('fe80::1')).toBe(true);
    expect(isLinkLocal6('2001:db8::1')).toBe(false);
    expect(isLinkLocal6('192.168.1.1')).toBe(false);
  });
});

describe('IPv6 rules', () => {
  const interfaceCases: [string, string | undefined][] = [
    ['2001:db8:179::12/64', undefined],
    ['fd00:1::5/48', undefined],
    ['2001:db8::1/128', undefined],
    ['2001:db8::/127', undefined],
    ['2001:db8:179::12', '"2001:db8:179::12" is not an IPv6 CIDR; write ADDRESS/PREFIX, like 2001:db8:179::12/64'],
    ['2001:db8::g/64', '"2001:db8::g/64": "2001:db8::g" is not an IPv6 address; write it like 2001:db8::1 (without a %zone)'],
    ['fe80::1%eth0/64', '"fe80::1%eth0/64": "fe80::1%eth0" is not an IPv6 address; write it like 2001:db8::1 (without a %zone)'],
    ['2001:db8::1/129', '"2001:db8::1/129" has prefix /129, must be 0-128'],
    ['2001:db8::1/0', '"2001:db8::1/0" has prefix /0, which is not an interface address'],
    ['2001:db8:179::/64', '"2001:db8:179::/64" is the subnet-router anycast address of 2001:db8:179::/64; use a host address'],
    ['fe80::5/64', '"fe80::5/64" is link-local (fe80::/10): the kernel gives every interface one of its own; use a global or unique local address'],
    ['ff02::1/64', '"ff02::1/64" is a multicast address; use a unicast one'],
    ['::1/128', '"::1/128" is the loopback address ::1'],
    ['::/128', '"::/128" is the unspecified address ::'],
    ['::ffff:10.0.0.5/120', '"::ffff:10.0.0.5/120" is an IPv4-mapped address; write the IPv4 address itself'],
  ];
  it.each(interfaceCases)('interface address %s', (value, problem) => {
    expect(checkInterfaceCidr(value)).toBe(problem);
  });

  const routeCases: [string, string | undefined][] = [
    ['2001:db8:100::/48', undefined],
    ['2001:db8:100::1/48', '"2001:db8:100::1/48" has host bits set; the network is 2001:db8:100::/48'],
    ['::/0', '"::/0" is the default route; set "gateway" instead'],
  ];
  it.each(routeCases)('route destination %s', (value, problem) => {
    expect(checkRouteCidr(value)).toBe(problem);
  });

  const nextHopCases: [string, string | undefined][] = [
    ['2001:db8:179::1', undefined],
    ['fe80::1', undefined],
    ['192.168.1.1', undefined],
    ['ff02::2', '"ff02::2" is a multicast address; use a unicast one'],
    ['fe80::1%eth0', '"fe80::1%eth0" is not an IPv6 address; write it like 2001:db8::1 (without a %zone)'],
    ['gw.local', '"gw.local" is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1'],
  ];
  it.each(nextHopCases)('gateway or next hop %s', (value, problem) => {
    expect(checkIpAddress(value)).toBe(problem);
  });

  it('keeps every IPv4 message as it was', () => {
    expect(checkInterfaceCidr('10.0.0.3')).toBe('"10.0.0.3" is not an IPv4 CIDR; write ADDRESS/PREFIX, like 192.168.179.12/16');
    expect(checkInterfaceCidr('10.0.0.0/24')).toBe('"10.0.0.0/24" is the network address of 10.0.0.0/24; use a host address');
    expect(checkRouteCidr('172.16.0.1/12')).toBe('"172.16.0.1/12" has host bits set; the network is 172.16.0.0/12');
  });
});
