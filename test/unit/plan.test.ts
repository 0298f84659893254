import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { deriveMac } from '../../src/config/mac.js';
import { validateText } from '../../src/pipeline.js';

const planOf = (text: string) => buildPlan(validateText(text, 'test.yaml').config);
const seed = planOf(readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8'));

describe('buildPlan', () => {
  it('orders node1 of the seed as the seed does: promisc, netns, links, move, address, up, routes, host shim', () => {
    expect(seed.nodes[0]?.steps.map((step) => step.id)).toEqual([
      'promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'host-shim',
    ]);
  });

  it('leaves out steps a node does not need', () => {
    expect(seed.nodes[1]?.steps.map((step) => step.id)).toEqual(['promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up']);
  });

  it('derives the host shim routes from the host address and gateway, and probes the gateway by default', () => {
    expect(seed.nodes[0]?.hostShim).toEqual({
      interface: 'mac0', type: 'macvlan', mode: 'bridge', mac: deriveMac('node1', 'hostShim/mac0'), subnet: '192.168.0.0/16', gateway: '192.168.1.1', routes: [], probes: ['192.168.1.1'],
    });
  });

  it('inherits mode and mtu from node, then defaults; promisc from defaults', () => {
    const plan = planOf(`version: 1
defaults: { mode: vepa, promisc: false, mtu: 1400 }
nodes:
  n1:
    parent: eth0
    address: 10.0.0.2/24
    mode: private
    namespaces:
      a: { interface: m1, address: 10.0.0.3/24 }
      b: { interface: m2, address: 10.0.0.4/24, mode: bridge, mtu: 9000 }
  n2:
    parent: eth0
    address: 10.0.0.5/24
    namespaces:
      a: { interface: m1, address: 10.0.0.6/24 }
`);
    const [n1, n2] = plan.nodes;
    expect(n1?.namespaces.map((ns) => [ns.mode, ns.mtu])).toEqual([['private', 1400], ['bridge', 9000]]);
    expect(n2?.namespaces.map((ns) => [ns.mode, ns.mtu])).toEqual([['vepa', 1400]]);
    expect(n1?.promisc).toBe(false);
    expect(n1?.steps[0]?.id).toBe('netns');
  });

  it('derives `mac: auto` deterministically, locally administered and unicast, distinct per namespace', () => {
    const text = `version: 1
nodes:
  n1:
    parent: eth0
    address: 10.0.0.2/24
    namespaces:
      a: { interface: m1, address: 10.0.0.3/24, mac: auto }
      b: { interface: m2, address: 10.0.0.4/24, mac: auto }
`;
    const [first, second] = [planOf(text), planOf(text)];
    const macs = first.nodes[0]?.namespaces.map((ns) => ns.mac) ?? [];
    expect(macs).toEqual(second.nodes[0]?.namespaces.map((ns) => ns.mac));
    expect(new Set(macs).size).toBe(2);
    for (const mac of macs) {
      const firstOctet = parseInt(mac?.slice(0, 2) ?? 'zz', 16);
      expect(firstOctet & 0b11).toBe(0b10);
    }
    expect(macs[0]).toBe(deriveMac('n1', 'netns/a'));
  });

  it('derives the same MACs in every generator version: pinned values of the seed names', () => {
    expect(deriveMac('node1', 'netns/ns1')).toBe('96:52:f1:6b:b7:1c');
    expect(deriveMac('node1', 'netns/ns2')).toBe('96:52:f1:6b:bc:35');
    expect(deriveMac('node1', 'hostShim/mac0')).toBe('4a:ae:2e:49:0f:18');
  });

  it('defaults.mac auto gives every macvlan without a MAC of its own a derived one, the shim too; random and literals win', () => {
    const plan = planOf(`version: 1
defaults: { mac: auto }
nodes:
  node1:
    parent: eth0
    address: 10.0.0.2/24
    gateway: 10.0.0.1
    hostShim: { interface: mac0 }
    namespaces:
      ns1: { interface: mac1, address: 10.0.0.3/24 }
      ns2: { interface: mac2, address: 10.0.0.4/24, mac: random }
      ns3: { interface: mac3, address: 10.0.0.5/24, mac: '02:00:00:00:00:AA' }
`);
    const node = plan.nodes[0];
    expect(node?.hostShim?.mac).toBe('4a:ae:2e:49:0f:18');
    expect(node?.namespaces.map((ns) => ns.mac)).toEqual(['96:52:f1:6b:b7:1c', undefined, '02:00:00:00:00:aa']);
    // Without defaults.mac (every v1 config so far) nothing changes: the kernel picks.
    expect(planOf('version: 1\nnodes:\n  n1: { parent: eth0, address: 10.0.0.2/24, namespaces: { a: { interface: m1, address: 10.0.0.3/24 } } }\n').nodes[0]?.namespaces[0]?.mac).toBeUndefined();
  });

  it('plans dual stack: the IPv6 values beside the IPv4 ones, spelt as ip prints them, probes of both gateways', () => {
    const plan = planOf(`version: 1
defaults: { nodad: true }
nodes:
  n1:
    parent: eth0
    address: [10.0.0.2/24, 2001:DB8:1:0::2/64]
    gateway: [10.0.0.1, 2001:db8:1::1]
    hostShim: { interface: mac0 }
    namespaces:
      a: { interface: m1, address: [10.0.0.3/24, 2001:db8:1::3/64], gateway: [10.0.0.1, FE80::1], routes: [{ to: '2001:db8:0100::/48', via: '2001:db8:1::fe' }] }
      b: { interface: m2, address: 10.0.0.4/24, nodad: false }
  n2:
    parent: eth0
    address: 10.0.0.5/24
`);
    const [n1, n2] = plan.nodes;
    expect(n1).toMatchObject({ hostAddress: '10.0.0.2/24', hostAddress6: '2001:db8:1::2/64', gateway: '10.0.0.1', gateway6: '2001:db8:1::1', ipv6: true });
    expect(n1?.hostShim).toMatchObject({ subnet: '10.0.0.0/24', subnet6: '2001:db8:1::/64', gateway6: '2001:db8:1::1', probes: ['10.0.0.1', '2001:db8:1::1'] });
    expect(n1?.namespaces[0]).toMatchObject({
      address: '10.0.0.3/24', address6: '2001:db8:1::3/64', gateway: '10.0.0.1', gateway6: 'fe80::1', nodad: true,
      routes: [{ to: '2001:db8:100::/48', via: '2001:db8:1::fe' }],
    });
    // nodad concerns IPv6 addresses only: a namespace without one has none to skip detection for.
    expect(n1?.namespaces[1]?.address6).toBeUndefined();
    expect(n1?.namespaces[1]?.nodad).toBeUndefined();
    expect(n2?.ipv6).toBe(false);
    expect(n2?.hostAddress6).toBeUndefined();
  });
});

describe('buildPlan: per-namespace DNS', () => {
  const plan = planOf(`version: 1
defaults: { dns: [10.0.0.53], search: [lab.example.com] }
nodes:
  n1:
    parent: eth0
    address: 10.0.0.2/24
    namespaces:
      a: { interface: m1, address: [10.0.0.3/24, 2001:db8::3/64], dns: [2001:DB8:0::53, 10.0.0.54] }
      b: { interface: m2, address: 10.0.0.4/24 }
      c: { interface: m3, address: 10.0.0.5/24, dns: [] }
  n2:
    parent: eth0
    address: 10.0.0.6/24
    namespaces:
      a: { interface: m1, address: 10.0.0.7/24, dns: [10.0.0.53], search: [x.example, y.example] }
`);
  const [n1, n2] = plan.nodes;

  it('writes each namespace\'s resolv.conf whole: the mark, its own nameservers (IPv6 as ip spells them) or the defaults\', the search domains', () => {
    expect(n1?.namespaces.map((ns) => ns.resolvConf)).toEqual([
      '# macvlan-gen: the resolver of namespace a on node n1, from its config; teardown removes this file.\nnameserver 2001:db8::53\nnameserver 10.0.0.54\nsearch lab.example.com\n',
      '# macvlan-gen: the resolver of namespace b on node n1, from its config; teardown removes this file.\nnameserver 10.0.0.53\nsearch lab.example.com\n',
      undefined,
    ]);
    expect(n2?.namespaces[0]?.resolvConf).toBe('# macvlan-gen: the resolver of namespace a on node n2, from its config; teardown removes this file.\nnameserver 10.0.0.53\nsearch x.example y.example\n');
  });

  it('adds the dns step after the routes, and only to nodes with a resolver', () => {
    expect(n1?.dns).toBe(true);
    expect(n1?.steps.map((step) => step.id)).toEqual(['promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'dns']);
    expect(seed.nodes.every((node) => node.dns === undefined && !node.steps.some((step) => step.id === 'dns'))).toBe(true);
  });
});

describe('buildPlan: several addresses on a namespace', () => {
  const plan = planOf(`version: 1
nodes:
  n1:
    parent: eth0
    address: [10.0.0.2/24, 2001:db8::2/64]
    namespaces:
      a: { interface: m1, address: [10.0.0.3/24, 2001:DB8:0::3/64, 10.0.0.9/24, 2001:db8::9/64, 10.9.0.3/24, fd00::9/64], nodad: true }
      b: { interface: m2, address: [10.0.0.4/24, 10.0.0.10/24] }
      c: { interface: m3, address: 10.0.0.5/24 }
`);
  const [a, b, c] = plan.nodes[0]?.namespaces ?? [];

  it('keeps the first address of each family as the primary, and the rest in order, IPv6 ones as ip spells them and, in the prefix of an earlier one, not as a source', () => {
    expect([a?.address, a?.address6]).toEqual(['10.0.0.3/24', '2001:db8::3/64']);
    expect(a?.moreAddresses).toEqual([
      { address: '10.0.0.9/24' },
      { address: '2001:db8::9/64', nodad: true, notSource: true },
      { address: '10.9.0.3/24' },
      { address: 'fd00::9/64', nodad: true },
    ]);
    expect(b?.moreAddresses).toEqual([{ address: '10.0.0.10/24' }]);
    expect(c?.moreAddresses).toBeUndefined();
    expect(plan.nodes[0]?.moreAddresses).toBe(true);
    expect(seed.nodes.every((node) => node.moreAddresses === undefined)).toBe(true);
  });
});
