// The lab in dual stack: topology, expectations per family, the commands that build and probe it, and the report.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { highestFreeHost } from '../../src/ip.js';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import { expectReachability, reachableFromWatcher, type Expectation } from '../../src/lab/expect.js';
import { labStages } from '../../src/lab/stages.js';
import { probeCommand, setupScript, watchCommand } from '../../src/lab/commands.js';
import { formatStage } from '../../src/lab/report.js';
import type { StageResult } from '../../src/lab/runner.js';
import type { Config } from '../../src/config/schema.js';

const configOf = (text: string): Config => validateText(text, 'test.yaml').config;
const example = (name: string): Config => configOf(readFileSync(new URL(`../../examples/${name}.yaml`, import.meta.url), 'utf8'));
const topologyOf = (config: Config): Topology => buildTopology(buildPlan(config), 'mvlab-test');

const seed = example('seed');
const dualStack = example('seed-dual-stack');
const between = (list: Expectation[], a: string, b: string): Expectation | undefined =>
  list.find((e) => (e.from === a && e.to === b) || (e.from === b && e.to === a));
const endpoint = (topology: Topology, id: string) => topology.endpoints.find((candidate) => candidate.id === id);

/** Two nodes on 10.0.0.0/24 and 2001:db8:1::/64: n1 as the YAML lines given (under it), n2 with an address of each family. */
const twoNodes = (n1: string, n2 = '') =>
  configOf(`version: 1
nodes:
  n1:
    parent: eth0
${n1}
  n2:
    parent: eth0
    address: [10.0.0.7/24, 2001:db8:1::7/64]
${n2}
`);

describe('the dual-stack seed example', () => {
  it('is the seed with an IPv6 address beside every IPv4 one, mirroring its last octet', () => {
    const plan = buildPlan(dualStack);
    const seedPlan = buildPlan(seed);
    expect(plan.nodes.map((node) => node.hostAddress)).toEqual(seedPlan.nodes.map((node) => node.hostAddress));
    for (const node of plan.nodes) {
      expect(node.hostAddress6).toBe(`2001:db8:179::${node.hostIp.split('.')[3] ?? ''}/64`);
      expect(node.gateway6).toBe('2001:db8:179::1');
      for (const ns of node.namespaces) expect(ns.address6).toBe(`2001:db8:179::${ns.address.split(/[./]/)[3] ?? ''}/64`);
    }
    expect(plan.nodes.flatMap((node) => node.namespaces.map((ns) => [ns.gateway, ns.gateway6]))).toEqual(
      seedPlan.nodes.flatMap((node) => node.namespaces.map((ns) => [ns.gateway, ns.gateway === undefined ? undefined : '2001:db8:179::1'])),
    );
  });
});

describe('dual-stack topology', () => {
  it('an IPv4-only config gets an IPv4-only lab: one family, no IPv6 anywhere', () => {
    const lab = topologyOf(seed);
    expect(lab.families).toEqual([4]);
    expect(lab.outside6).toBeUndefined();
    expect(lab.endpoints.filter((e) => e.ip6 !== undefined || e.defaultVia6 !== undefined)).toEqual([]);
    expect(lab.watcher?.addresses).toEqual(['192.168.255.254/16']);
  });

  it('the gateway router owns each IPv6 gateway address and an outside IPv6 subnet, where the client is', () => {
    const lab = topologyOf(dualStack);
    expect(lab.families).toEqual([4, 6]);
    expect(lab.gatewayLanAddresses).toEqual(['192.168.1.1/16', '2001:db8:179::1/64']);
    expect(lab.outside6).toEqual({ subnet: '2001:db8:ffff::/64', gatewayAddress: '2001:db8:ffff::1/64', clientAddress: '2001:db8:ffff::241/64' });
    expect(endpoint(lab, 'gateway')).toMatchObject({ ip: '192.168.1.1', ip6: '2001:db8:179::1' });
    expect(endpoint(lab, 'client')).toMatchObject({ ip6: '2001:db8:ffff::241', defaultVia6: '2001:db8:ffff::1' });
  });

  it('every endpoint carries its IPv6 address and IPv6 default route', () => {
    const lab = topologyOf(dualStack);
    expect(endpoint(lab, 'node1')).toMatchObject({ ip6: '2001:db8:179::9', addresses: ['192.168.179.9/16', '2001:db8:179::9/64'], defaultVia6: '2001:db8:179::1' });
    expect(endpoint(lab, 'node1/ns1')).toMatchObject({ ip6: '2001:db8:179::12', defaultVia6: '2001:db8:179::1' });
    expect(endpoint(lab, 'node1/ns2')?.defaultVia6).toBeUndefined();
  });

  it('the LAN neighbour gets a free IPv6 address too, below the reserved anycast addresses', () => {
    expect(topologyOf(dualStack).watcher).toMatchObject({ ip: '192.168.255.254', ip6: '2001:db8:179:0:ffff:ffff:ffff:ff7f' });
    expect(highestFreeHost('2001:db8:179::/64', new Set(['2001:db8:179:0:ffff:ffff:ffff:ff7f']))).toBe('2001:db8:179:0:ffff:ffff:ffff:ff7e');
    expect(highestFreeHost('2001:db8::/126', new Set(['2001:db8::3']))).toBe('2001:db8::2');
    expect(highestFreeHost('2001:db8::/127', new Set())).toBeUndefined();
  });

  it('a link-local gateway: the router owns it (/64) and a free address in the subnet it serves; the LAN neighbour never takes a link-local one', () => {
    const lab = topologyOf(
      twoNodes('    address: [10.0.0.5/24, 2001:db8:1::5/64]\n    gateway: [10.0.0.1, fe80::1]\n    namespaces:\n      a: { interface: m1, address: [10.0.0.6/24, 2001:db8:1::6/64], gateway: [10.0.0.1, fe80::1] }'),
    );
    expect(lab.gatewayLanAddresses).toEqual(['10.0.0.1/24', 'fe80::1/64', '2001:db8:1:0:ffff:ffff:ffff:ff7f/64']);
    expect(endpoint(lab, 'gateway')?.ip6).toBe('2001:db8:1:0:ffff:ffff:ffff:ff7f');
    expect(lab.watcher?.addresses).toEqual(['10.0.0.254/24', '2001:db8:1:0:ffff:ffff:ffff:ff7e/64']);
  });

  it('puts the outside IPv6 subnet elsewhere when the config uses 2001:db8:ffff::/64', () => {
    const lab = topologyOf(twoNodes('    address: [10.0.0.5/24, 2001:db8:ffff::5/48]'));
    expect(lab.outside6?.subnet).toBe('3fff:ffff::/64');
  });
});

describe('expectations per family', () => {
  const stages = labStages(dualStack, true);
  const expectations = (index: number, family: 4 | 6): Expectation[] => {
    const stage = stages[index];
    if (!stage) throw new Error(`no stage ${index}`);
    return expectReachability(topologyOf(stage.config), family);
  };

  it('in every seed stage, IPv6 reaches exactly where IPv4 does, for the same reason in its own addresses', () => {
    for (const [index] of stages.entries()) {
      const v4 = expectations(index, 4);
      const v6 = expectations(index, 6);
      expect(v6.map(({ from, to, reach }) => ({ from, to, reach }))).toEqual(v4.map(({ from, to, reach }) => ({ from, to, reach })));
    }
    expect(between(expectations(0, 6), 'node1/ns1', 'client')?.reason).toBe('node1/ns1 has no route to 2001:db8:ffff::241: it has no default route');
    expect(between(expectations(1, 6), 'node1/ns1', 'client')).toMatchObject({ reach: true, reason: 'routed through the gateway 2001:db8:179::1' });
    expect(between(expectations(1, 6), 'node1/ns1', 'node1')?.reach).toBe(false);
    expect(between(expectations(2, 6), 'node1/ns1', 'node1')?.reach).toBe(true);
  });

  it('routing is decided per family: an IPv6 default route alone reaches the client in IPv6 only', () => {
    const lab = topologyOf(twoNodes('    address: [10.0.0.5/24, 2001:db8:1::5/64]\n    gateway: [10.0.0.1, 2001:db8:1::1]\n    namespaces:\n      a: { interface: m1, address: [10.0.0.6/24, 2001:db8:1::6/64], gateway: 2001:db8:1::1 }'));
    expect(between(expectReachability(lab, 4), 'n1/a', 'client')?.reason).toBe('n1/a has no route to 10.8.0.241: it has no default route');
    expect(between(expectReachability(lab, 6), 'n1/a', 'client')).toMatchObject({ reach: true, reason: 'routed through the gateway 2001:db8:1::1' });
  });

  it('a link-local gateway routes like any other', () => {
    const lab = topologyOf(twoNodes('    address: [10.0.0.5/24, 2001:db8:1::5/64]\n    namespaces:\n      a: { interface: m1, address: [10.0.0.6/24, 2001:db8:1::6/64], gateway: [10.0.0.1, fe80::1] }'));
    expect(between(expectReachability(lab, 6), 'n1/a', 'client')).toMatchObject({ reach: true, reason: 'routed through the gateway fe80::1' });
    expect(between(expectReachability(lab, 6), 'n1/a', 'gateway')?.reach).toBe(true);
  });

  it('the IPv6 matrix has only the endpoints with an IPv6 address', () => {
    const lab = topologyOf(twoNodes('    address: 10.0.0.5/24\n    namespaces:\n      a: { interface: m1, address: [10.0.0.6/24, 2001:db8:1::6/64] }'));
    const ids = (list: Expectation[]) => [...new Set(list.flatMap((e) => [e.from, e.to]))].sort();
    expect(ids(expectReachability(lab, 4))).toEqual(['client', 'gateway', 'n1', 'n1/a', 'n2']);
    expect(ids(expectReachability(lab, 6))).toEqual(['client', 'gateway', 'n1/a', 'n2']);
  });

  it('a passthru child without IPv6 still takes every frame of its parent, so the host answers in neither family', () => {
    const lab = topologyOf(twoNodes('    address: [10.0.0.5/24, 2001:db8:1::5/64]\n    namespaces:\n      a: { interface: m1, address: 10.0.0.6/24, mode: passthru }'));
    for (const family of [4, 6] as const) {
      expect(between(expectReachability(lab, family), 'n1', 'n2')).toMatchObject({
        reach: false,
        reason: "a passthru macvlan on n1's parent takes every frame, so n1 itself gets none",
      });
    }
  });

  it('the LAN neighbour watches each family at the endpoints that have it', () => {
    const lab = topologyOf(twoNodes('    address: 10.0.0.5/24\n    namespaces:\n      a: { interface: m1, address: [10.0.0.6/24, 2001:db8:1::6/64] }'));
    expect(reachableFromWatcher(lab, 4).map((e) => e.id)).toEqual(['n1', 'n1/a', 'n2']);
    expect(reachableFromWatcher(lab, 6).map((e) => e.id)).toEqual(['n1/a', 'n2']);
  });
});

describe('dual-stack lab commands', () => {
  const script = setupScript(topologyOf(dualStack)).split('\n');

  it('the addresses the lab owns skip DAD; the nodes\' host addresses go through it, and the build waits for it', () => {
    const ipv6Adds = script.filter((line) => /^ip -n \S+ addr add [0-9a-f:]+:[0-9a-f:]*\/\d+ /.test(line));
    expect(ipv6Adds.filter((line) => line.includes('-gw ') || line.includes('-client ') || line.includes('-watch '))).toHaveLength(4);
    for (const line of ipv6Adds) expect(line.endsWith(' nodad')).toBe(/-(gw|client|watch) /.test(line));
    expect(script).toContain('ip -n mvlab-test-node-node1 addr add 2001:db8:179::9/64 dev ens160');
    expect(script).toContain('ip -n mvlab-test-node-node1 -6 route add default via 2001:db8:179::1 dev ens160');
    expect(script.filter((line) => line.includes('tentative')).map((line) => /-node-(\w+)/.exec(line)?.[1])).toEqual(['node1', 'node2']);
  });

  it('the gateway forwards IPv6 and the client routes IPv6 through it', () => {
    expect(script).toContain("nsenter --net=/run/netns/mvlab-test-gw bash -c 'printf 1 > /proc/sys/net/ipv6/conf/all/forwarding'");
    expect(script).toContain('ip -n mvlab-test-client -6 route add default via 2001:db8:ffff::1');
  });

  it('an IPv4-only lab has no IPv6 line', () => {
    expect(setupScript(topologyOf(seed))).not.toMatch(/nodad|-6 |ipv6|tentative/);
  });

  it('probes and watches IPv6 with ping -6', () => {
    const lab = topologyOf(dualStack);
    const [node1] = lab.endpoints;
    if (!node1 || !lab.watcher) throw new Error('no node1 or watcher');
    expect(probeCommand('mvlab-test', node1, ['2001:db8:179::10'], false, 6)[4]).toContain('if ping -6 -n -q -c 1 ');
    expect(probeCommand('mvlab-test', node1, ['192.168.179.10'], false)[4]).toContain('if ping -n -q -c 1 ');
    expect(watchCommand('mvlab-test', lab.watcher, '2001:db8:179::9').slice(2, 5)).toEqual(['ping', '-6', '-n']);
  });
});

describe('the dual-stack report', () => {
  const lab = topologyOf(dualStack);
  const asProbed = (family: 4 | 6, surprise?: string) =>
    expectReachability(lab, family).map((e) => {
      const actual = `${e.from} ${e.to}` === surprise ? !e.reach : e.reach;
      return { ...e, actual, asExpected: actual === e.reach };
    });
  const stage = (results6: ReturnType<typeof asProbed>): StageResult => ({
    name: 'host-migrated',
    description: 'after moving the host address onto the macvlan shim',
    endpoints: lab.endpoints.map(({ id, ip, ip6 }) => ({ id, ip, ...(ip6 !== undefined && { ip6 }) })),
    scripts: [],
    results: asProbed(4),
    results6,
    outages: [
      { endpoint: 'node1', ip: '192.168.179.9', longestSeconds: 0.1, silentAtEnd: false, answers: 50 },
      { endpoint: 'node1', ip: '2001:db8:179::9', longestSeconds: 3.5, silentAtEnd: false, answers: 40 },
    ],
    seconds: { build: 0, apply: 0, probe: 0 },
  });

  it('shows one matrix per family, the family in its corner, and counts the pairs of each', () => {
    const lines = formatStage(stage(asProbed(6)), 2, 3, undefined, false);
    const corners = lines.filter((line) => /^ {2}IPv[46] /.test(line)).map((line) => line.trim().split(/\s+/));
    expect(corners).toEqual([
      ['IPv4', ...lab.endpoints.map((e) => e.id)],
      ['IPv6', ...lab.endpoints.map((e) => e.id)],
    ]);
    const pairs = (lab.endpoints.length * (lab.endpoints.length - 1)) / 2;
    expect(lines).toContain(`${2 * pairs} pairs (${pairs} IPv4, ${pairs} IPv6): ${2 * pairs} as expected, 0 unexpected`);
  });

  it('marks what is IPv6: a surprise, a change since the previous stage and an outage', () => {
    const surprising = stage(asProbed(6, 'node1 node1/ns1'));
    const lines = formatStage(surprising, 2, 3, stage(asProbed(6)), false);
    expect(lines).toContain('Changed since the previous stage:');
    expect(lines).toContain('  node1 <-> node1/ns1 (IPv6): no longer reach each other (bridge-mode siblings on one parent are switched inside the kernel)');
    expect(lines).toContain('  UNEXPECTED node1 <-> node1/ns1 (IPv6): no reach, expected reach (bridge-mode siblings on one parent are switched inside the kernel)');
    expect(lines).toContain('LAN neighbour pinging 10 times a second: 1 outage over 2 s among node1, node1 (IPv6)');
    expect(lines).toContain('  OUTAGE node1 (IPv6): 3.5 s without an answer during stage host-migrated');
  });
});
