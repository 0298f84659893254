// The host shim's other strategy (issue 17): `hostShim.address` gives the shim an address of its own; the host
// address stays on the parent. One test per validation rule, and what the plan makes of it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/plan/plan.js';
import { buildTopology } from '../../src/lab/topology.js';
import { expectReachability, type Expectation } from '../../src/lab/expect.js';
import { labStages, type Stage } from '../../src/lab/stages.js';
import { BASE, problemsOf } from '../support/config.js';
import { renderConfig, validateText } from '../../src/pipeline.js';

const withShim = (shim: string, text = BASE): string => text.replace('    namespaces:', `    hostShim: ${shim}\n    namespaces:`);

const DUAL = `version: 1
nodes:
  node1:
    parent: eth0
    address: [10.0.0.2/24, 2001:db8:1::2/64]
    gateway: [10.0.0.1, 2001:db8:1::1]
    namespaces:
      ns1:
        interface: mac1
        address: [10.0.0.3/24, 2001:db8:1::3/64]
`;

describe('validation of hostShim.address', () => {
  it('accepts a /32 on an IPv4 node, and a /32 beside a /128 on a dual-stack one, without a node gateway', () => {
    expect(problemsOf(withShim('{ interface: mac0, address: 10.0.0.250/32 }'))).toEqual([]);
    expect(problemsOf(withShim('{ interface: mac0, address: 10.0.0.250/32 }', BASE.replace('    gateway: 10.0.0.1\n', '')))).toEqual([]);
    expect(problemsOf(withShim('{ interface: mac0, address: [10.0.0.250/32, 2001:db8:1::250/128] }', DUAL))).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['not a single host', withShim('{ interface: mac0, address: 10.0.0.250/24 }'), 'error: nodes.node1.hostShim.address (line 7:43): 10.0.0.250/24 must be a single host, /32: a wider prefix would give mac0 a route to 10.0.0.0/24, and the host\'s own traffic to that subnet would leave through the shim instead of eth0'],
    ['not a single IPv6 host', withShim('{ interface: mac0, address: [10.0.0.250/32, 2001:db8:1::250/64] }', DUAL), 'error: nodes.node1.hostShim.address[1] (line 7:59): 2001:db8:1::250/64 must be a single host, /128: a wider prefix would give mac0 a route to 2001:db8:1::/64, and the host\'s own traffic to that subnet would leave through the shim instead of eth0'],
    ['the host address', withShim('{ interface: mac0, address: 10.0.0.2/32 }'), 'error: nodes.node1.hostShim.address (line 7:43): address 10.0.0.2 is already assigned at nodes.node1.address'],
    ['a namespace address', withShim('{ interface: mac0, address: 10.0.0.3/32 }'), 'error: nodes.node1.hostShim.address (line 7:43): address 10.0.0.3 is already assigned at nodes.node1.namespaces.ns1.address'],
    ['an address of another node', `${withShim('{ interface: mac0, address: 10.0.0.9/32 }')}  node2:\n    parent: eth0\n    address: 10.0.0.9/24\n    namespaces: { ns1: { interface: mac1, address: 10.0.0.10/24 } }\n`, 'error: nodes.node2.address (line 14:14): address 10.0.0.9 is already assigned at nodes.node1.hostShim.address'],
    ['the node gateway', withShim('{ interface: mac0, address: 10.0.0.1/32 }'), 'error: nodes.node1.gateway (line 6:14): gateway 10.0.0.1 is the address assigned at nodes.node1.hostShim.address; a gateway must be another machine'],
    ['IPv6 only', withShim('{ interface: mac0, address: 2001:db8:1::250/128 }', DUAL), 'error: nodes.node1.hostShim.address (line 7:43): needs an IPv4 address; an IPv6 address comes in addition to it (dual stack)'],
    ['no IPv6 beside IPv4 on a dual-stack node', withShim('{ interface: mac0, address: 10.0.0.250/32 }', DUAL), 'error: nodes.node1.hostShim.address (line 7:43): the node is dual stack: give the shim an IPv6 /128 (in 2001:db8:1::/64) beside its IPv4 address, or the host cannot reach its namespaces over IPv6'],
    ['IPv6 on a host without IPv6', withShim('{ interface: mac0, address: [10.0.0.250/32, 2001:db8:1::250/128] }'), 'error: nodes.node1.hostShim.address (line 7:43): 2001:db8:1::250/128 is IPv6, and the host has no IPv6 address: give the shim an IPv6 address only on a dual-stack node'],
    ['with probes', withShim('{ interface: mac0, address: 10.0.0.250/32, probes: [10.0.0.1] }'), 'error: nodes.node1.hostShim.probes (line 7:66): probes cannot be used with hostShim.address: probes prove a moved host address; with hostShim.address the host address never moves'],
    ['with confirmTimeout', withShim('{ interface: mac0, address: 10.0.0.250/32, confirmTimeout: 60 }'), 'error: nodes.node1.hostShim.confirmTimeout (line 7:74): confirmTimeout cannot be used with hostShim.address: there is nothing to confirm: with hostShim.address the host address never moves'],
    ['with routes', withShim('{ interface: mac0, address: 10.0.0.250/32, routes: [{ to: 172.16.0.0/12, via: 10.0.0.1 }] }'), "error: nodes.node1.hostShim.routes (line 7:66): routes cannot be used with hostShim.address: hostShim.routes replace routes the migration takes off the parent; with hostShim.address the host's routes stay on the parent"],
    ['the broadcast address of the host subnet', withShim('{ interface: mac0, address: 10.0.0.255/32 }'), "error: nodes.node1.hostShim.address (line 7:43): 10.0.0.255/32 is the broadcast address of 10.0.0.0/24; give the shim an ordinary unicast address of the host's subnet"],
    ['the network address of the host subnet', withShim('{ interface: mac0, address: 10.0.0.0/32 }'), "error: nodes.node1.hostShim.address (line 7:43): 10.0.0.0/32 is the network address of 10.0.0.0/24; give the shim an ordinary unicast address of the host's subnet"],
    ['warning: outside a namespace subnet', withShim('{ interface: mac0, address: 10.9.0.250/32 }'), "warning: nodes.node1.hostShim.address (line 7:43): 10.9.0.250 is outside ns1's subnet 10.0.0.0/24: ns1 answers the host through its gateway, if it has one, not directly; give the shim an IPv4 address inside it"],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });
});

describe('the plan and script of a shim that keeps the host address', () => {
  const generated = (text: string) => renderConfig(validateText(text, 'test.yaml').config, 'test');

  it('plans host routes from the shim address to each namespace address, and no migration', () => {
    const { plan, scripts } = generated(withShim('{ interface: mac0, address: [10.0.0.250/32, 2001:db8:1::250/128] }', DUAL));
    const [node] = plan.nodes;
    expect(node?.hostShim).toBeUndefined();
    expect(node?.addressShim).toEqual({
      interface: 'mac0',
      type: 'macvlan',
      mode: 'bridge',
      address: '10.0.0.250/32',
      address6: '2001:db8:1::250/128',
      routes: [{ to: '10.0.0.3', src: '10.0.0.250' }],
      routes6: [{ to: '2001:db8:1::3', src: '2001:db8:1::250' }],
    });
    expect(node?.steps.map((step) => step.id).at(-1)).toBe('shim-address');
    const script = scripts[0]?.content ?? '';
    expect(script).toContain("run ip route replace 2001:db8:1::3 dev mac0 src 2001:db8:1::250\n");
    expect(script).not.toContain('migrate_guarded');
    expect(script).toContain("'Nothing to confirm: the host address %s never leaves %s");
  });
});

describe('the lab with a shim that keeps the host address', () => {
  const config = validateText(readFileSync(new URL('../../examples/shim-keeps-address.yaml', import.meta.url), 'utf8'), 'shim-keeps-address.yaml').config;
  const stages = labStages(config, true);
  const expectationsOf = (stage: Stage | undefined, family: 4 | 6 = 4): Expectation[] => {
    if (!stage) throw new Error('no such stage');
    return expectReachability(buildTopology(buildPlan(stage.config), 'mvlab-test'), family);
  };
  const between = (list: Expectation[], a: string, b: string) => list.find((e) => (e.from === a && e.to === b) || (e.from === b && e.to === a));

  it('ends with a stage that adds the shim, and names both strategies when a config has both', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-shim-added']);
    expect(stages[2]?.description).toBe('after adding a macvlan shim with an address of its own (the host address stays on the parent)');
    const mixed = { ...config, nodes: { ...config.nodes, node2: { ...config.nodes['node2'], parent: 'ens160', address: '192.168.179.10/16', gateway: '192.168.1.1', hostShim: { interface: 'mac0' } } } };
    expect(labStages(mixed, true).at(-1)?.name).toBe('host-migrated');
    expect(labStages(mixed, true).at(-1)?.description).toBe('after moving the host address onto the macvlan shim, or adding a macvlan shim with an address of its own (the host address stays on the parent)');
  });

  it('the host reaches its namespaces through the shim, from the shim address, while the host address stays on the parent', () => {
    expect(between(expectationsOf(stages[1]), 'node1', 'node1/ns1')?.reach).toBe(false);
    expect(between(expectationsOf(stages[2]), 'node1', 'node1/ns1')).toEqual({
      from: 'node1',
      to: 'node1/ns1',
      reach: true,
      reason: 'node1 routes 192.168.179.12 through its shim mac0, which has an address of its own: bridge-mode siblings on one parent are switched inside the kernel',
    });
    // node2 still meets node1 at its host address, on the parent.
    expect(between(expectationsOf(stages[2]), 'node1', 'node2')?.reason).toBe('different machines meet through the switch');
  });

  it('a private-mode namespace stays out of reach of the shim', () => {
    const privateNs = { ...config, nodes: { ...config.nodes, node1: { ...config.nodes['node1'], parent: 'ens160', address: '192.168.179.9/16', namespaces: { ns1: { interface: 'mac1', address: '192.168.179.12/16', mode: 'private' as const } } } } };
    expect(between(expectationsOf({ name: 'x', description: '', config: privateNs }), 'node1', 'node1/ns1')).toMatchObject({
      reach: false,
      reason: "node1 routes 192.168.179.12 through its shim mac0, which has an address of its own, but: node1/ns1 is in private mode: it never talks to siblings on its parent",
    });
  });

  it('in dual stack, over IPv6 too', () => {
    const dual = validateText(DUAL.replace('    namespaces:', '    hostShim: { interface: mac0, address: [10.0.0.250/32, 2001:db8:1::250/128] }\n    namespaces:'), 'dual.yaml').config;
    expect(between(expectationsOf({ name: 'x', description: '', config: dual }, 6), 'node1', 'node1/ns1')?.reach).toBe(true);
  });
});
