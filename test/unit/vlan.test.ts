// VLAN parents (issue 17): validation rules, the plan, and the lab's trunked switch and VLAN expectations.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { problemsOf } from '../support/config.js';
import { validateText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { buildTopology, stageTopology } from '../../src/lab/topology.js';
import { expectReachability, type Expectation } from '../../src/lab/expect.js';
import { labStages } from '../../src/lab/stages.js';
import { nativeVlan, setupScript } from '../../src/lab/commands.js';

const VLANS = `version: 1
defaults: { vlan: 50 }
nodes:
  node1:
    parent: eth0
    address: 10.0.0.2/24
    gateway: 10.0.0.1
    namespaces:
      ns1:
        interface: mac1
        address: 10.50.0.3/24
        gateway: 10.50.0.1
      ns2:
        interface: mac2
        address: 10.60.0.3/24
        vlan: 60
`;
const configOf = (text: string) => validateText(text, 'test.yaml').config;

describe('validation of VLAN parents: one test per rule', () => {
  it('accepts a VLAN in defaults, on a node and on a namespace, and warns of no namespace outside the host subnet on a VLAN', () => {
    expect(problemsOf(VLANS)).toEqual([]);
    expect(problemsOf(VLANS.replace('defaults: { vlan: 50 }\n', '').replace('    gateway: 10.0.0.1\n', '    gateway: 10.0.0.1\n    vlan: 50\n'))).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['VLAN id 0', VLANS.replace('vlan: 60', 'vlan: 0'), 'error: nodes.node1.namespaces.ns2.vlan (line 16:15): number 0 must be at least 1'],
    ['VLAN id 4095', VLANS.replace('vlan: 60', 'vlan: 4095'), 'error: nodes.node1.namespaces.ns2.vlan (line 16:15): number 4095 must be at most 4094'],
    ['VLAN id not a whole number', VLANS.replace('vlan: 60', 'vlan: 60.5'), 'error: nodes.node1.namespaces.ns2.vlan (line 16:15): number 60.5 must be a whole number'],
    ['VLAN id a string', VLANS.replace('vlan: 60', 'vlan: "60"'), 'error: nodes.node1.namespaces.ns2.vlan (line 16:15): expected a number, got the string "60"'],
    ['VLAN on the host shim', VLANS.replace('    namespaces:', '    hostShim: { interface: mac0, vlan: 50 }\n    namespaces:'), 'error: nodes.node1.hostShim.vlan (line 8:34): unknown key "vlan"; allowed here: interface, address, mode, mtu, mac, routes, confirmTimeout, probes'],
    [
      'VLAN device name over 15 characters, set on the namespace',
      VLANS.replace('parent: eth0', 'parent: enp0s31f6u1').replace('vlan: 60', 'vlan: 1000').replace('defaults: { vlan: 50 }\n', ''),
      'error: nodes.node1.namespaces.ns2.vlan (line 15:15): the VLAN device "enp0s31f6u1.1000" (parent "enp0s31f6u1" + ".1000") is 16 characters, must be at most 15 (IFNAMSIZ): use a shorter VLAN id, or a parent with a shorter name',
    ],
    [
      'VLAN device name over 15 characters, from the defaults',
      VLANS.replace('parent: eth0', 'parent: enp0s31f6u123').replace('vlan: 60', 'vlan: 6'),
      'error: nodes.node1.parent (line 5:13): the VLAN device "enp0s31f6u123.50" (parent "enp0s31f6u123" + ".50", VLAN from defaults.vlan) is 16 characters, must be at most 15 (IFNAMSIZ): use a shorter VLAN id, or a parent with a shorter name',
    ],
    ['VLAN device name taken by the host shim', VLANS.replace('    namespaces:', '    hostShim: { interface: eth0.60 }\n    namespaces:'), 'error: nodes.node1.hostShim.interface (line 8:28): interface "eth0.60" is already used on this node by nodes.node1.namespaces.ns2.vlan; names must be unique on a node'],
    ['address unique within a VLAN', VLANS.replace('10.60.0.3/24', '10.50.0.3/24').replace('vlan: 60', 'vlan: 50'), 'error: nodes.node1.namespaces.ns2.address (line 15:18): address 10.50.0.3 is already assigned at nodes.node1.namespaces.ns1.address (on VLAN 50)'],
    ['gateway not an address of its VLAN', VLANS.replace('gateway: 10.50.0.1', 'gateway: 10.50.0.4').replace('10.60.0.3/24', '10.50.0.4/24').replace('vlan: 60', 'vlan: 50'), 'error: nodes.node1.namespaces.ns1.gateway (line 12:18): gateway 10.50.0.4 is the address assigned at nodes.node1.namespaces.ns2.address; a gateway must be another machine'],
    ['passthru must be the only macvlan on its VLAN device', VLANS.replace('vlan: 60', 'vlan: 50\n        mode: passthru'), 'error: nodes.node1.namespaces.ns2.mode (line 17:15): mode "passthru" takes the whole VLAN device eth0.50, so it must be the only macvlan on it (this node has 2 on VLAN 50)'],
    ['warning: a host shim that reaches no namespace', VLANS.replace('    namespaces:', '    hostShim: { interface: mac0 }\n    namespaces:'), 'warning: nodes.node1.hostShim (line 8:5): every namespace of this node is on a VLAN, and the host shim mac0 stays on the untagged eth0: it reaches none of them (only a router between the VLANs does), so moving the host address gains nothing'],
  ];

  // Only the problem each case is about: a VLAN namespace config has its own warnings, tested below.
  it.each(cases)('%s', (_rule, text, expected) => {
    const aside = (problem: string): boolean => problem !== expected && (problem.includes("outside the host's subnet") || problem.includes('gains nothing'));
    expect(problemsOf(text).filter((problem) => !aside(problem))).toEqual([expected]);
  });

  it('lets two VLANs use the same address, and the same gateway, as separate LANs do', () => {
    expect(problemsOf(VLANS.replace('10.60.0.3/24', '10.50.0.3/24').replace('vlan: 60', 'vlan: 60\n        gateway: 10.50.0.1'))).toEqual([]);
  });

  it('lets a passthru namespace have its VLAN device to itself beside others on the parent, and warns of nothing there', () => {
    expect(problemsOf(VLANS.replace('vlan: 60', 'vlan: 60\n        mode: passthru').replace('defaults: { vlan: 50 }\n', ''))).toEqual([
      "warning: nodes.node1.namespaces.ns1.address (line 10:18): 10.50.0.3/24 is outside the host's subnet 10.0.0.0/24; the namespace reaches the host's LAN only through a router",
    ]);
  });
});

describe('plan of VLAN parents', () => {
  it('puts each namespace on its lower device, lists the VLAN devices by id, and adds the vlan step after promisc', () => {
    const [node] = buildPlan(configOf(VLANS.replace('defaults: { vlan: 50 }\n', ''))).nodes;
    expect(node?.namespaces.map((ns) => [ns.lower, ns.vlan])).toEqual([['eth0', undefined], ['eth0.60', 60]]);
    const [inherited] = buildPlan(configOf(VLANS)).nodes;
    expect(inherited?.vlans).toEqual([{ id: 50, name: 'eth0.50' }, { id: 60, name: 'eth0.60' }]);
    expect(inherited?.steps.map((step) => step.id).slice(0, 3)).toEqual(['promisc', 'vlan', 'netns']);
  });

  it('has no VLAN devices and no vlan step without VLANs', () => {
    const [node] = buildPlan(configOf(VLANS.replace('defaults: { vlan: 50 }\n', '').replace('\n        vlan: 60', ''))).nodes;
    expect(node?.vlans).toEqual([]);
    expect(node?.steps.map((step) => step.id)).not.toContain('vlan');
  });
});

const example = configOf(readFileSync(new URL('../../examples/vlans.yaml', import.meta.url), 'utf8'));
const lab = buildTopology(buildPlan(example), 'mvlab-test');
const stages = labStages(example, true);
const expectationsOf = (name: string): Expectation[] => {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  return expectReachability(stageTopology(lab, buildPlan(stage.config)));
};
const between = (list: Expectation[], a: string, b: string) => list.find((e) => (e.from === a && e.to === b) || (e.from === b && e.to === a));

describe('the lab with VLANs', () => {
  it('makes the switch ports trunks and gives the gateway a sub-interface per VLAN with its gateway addresses', () => {
    expect(lab.vlans).toEqual([{ id: 50, gatewayAddresses: ['10.50.0.1/24'] }, { id: 60, gatewayAddresses: ['10.60.0.1/24'] }]);
    const script = setupScript(lab);
    expect(script).toContain('ip -n mvlab-test-lan link add br0 type bridge vlan_filtering 1 vlan_default_pvid 1 || {');
    for (const port of ['pgw', 'p0', 'p1']) expect(script).toContain(`bridge -n mvlab-test-lan vlan add dev ${port} vid 50\nbridge -n mvlab-test-lan vlan add dev ${port} vid 60\n`);
    expect(script).not.toContain('dev pw vid');
    expect(script).toContain('ip -n mvlab-test-gw link add link lan0 name lan0.50 type vlan id 50 || {');
    expect(script).toContain('ip -n mvlab-test-gw addr add 10.50.0.1/24 dev lan0.50\n');
    expect(lab.endpoints.filter((e) => e.kind === 'vlan-gateway').map((e) => [e.id, e.ip])).toEqual([['gateway.50', '10.50.0.1'], ['gateway.60', '10.60.0.1']]);
    expect(lab.watcher?.addresses).toEqual(['10.30.255.254/16']);
  });

  it('keeps untagged frames on a VLAN of their own when the config uses VLAN 1', () => {
    expect(nativeVlan({ ...lab, vlans: [{ id: 1, gatewayAddresses: [] }, { id: 2, gatewayAddresses: [] }] })).toBe(3);
  });

  it('has no VLAN anywhere in a config without one', () => {
    const plain = buildTopology(buildPlan(configOf(VLANS.replace('defaults: { vlan: 50 }\n', '').replace('\n        vlan: 60', ''))), 'mvlab-test');
    expect(plain.vlans).toBeUndefined();
    expect(setupScript(plain)).not.toMatch(/vlan/);
  });

  it('namespaces on VLAN 50 reach VLAN 50\'s gateway and each other, not VLAN 60\'s gateway, without default routes', () => {
    const first = expectationsOf('no-default-routes');
    expect(between(first, 'node1/web', 'node2/web')).toMatchObject({ reach: true, reason: 'different machines meet through the switch, both on VLAN 50' });
    expect(between(first, 'node1/web', 'gateway.50')?.reach).toBe(true);
    expect(between(first, 'node1/web', 'gateway.60')).toMatchObject({
      reach: false,
      reason: 'node1/web has no route to 10.60.0.1: it has no default route, and 10.60.0.1 is on VLAN 60, node1/web on VLAN 50',
    });
    expect(between(first, 'node1/db', 'node2/db')?.reach).toBe(true);
    expect(between(first, 'node1/web', 'node1/db')?.reach).toBe(false);
  });

  it('the gateway routes between the VLANs once the namespaces have default routes', () => {
    const routed = expectationsOf('default-routes');
    expect(between(routed, 'node1/web', 'node2/db')).toMatchObject({ reach: true, reason: 'routed through the gateway 10.50.0.1' });
    expect(between(routed, 'node1/web', 'gateway.60')?.reach).toBe(true);
  });

  it('the host shim reaches the untagged namespace itself, and the VLAN ones only through the router', () => {
    const migrated = expectationsOf('host-migrated');
    expect(between(migrated, 'node1', 'node1/mgmt')?.reason).toBe('bridge-mode siblings on one parent are switched inside the kernel');
    expect(between(migrated, 'node1', 'node1/web')?.reason).toBe('routed through the gateway 10.30.0.1');
  });

  it('a passthru namespace on a VLAN takes that VLAN only: its host still answers on the untagged LAN', () => {
    const text = 'version: 1\nnodes:\n  node1:\n    parent: eth0\n    address: 10.0.0.2/24\n    namespaces:\n      a: { interface: mac1, address: 10.9.0.3/24, vlan: 50, mode: passthru }\n  node2: { parent: eth0, address: 10.0.0.3/24 }\n';
    expect(between(expectReachability(buildTopology(buildPlan(configOf(text)), 'mvlab-test')), 'node1', 'node2')?.reach).toBe(true);
  });

  it('two VLANs with the same subnet never meet on the wire', () => {
    const text = `version: 1
nodes:
  node1:
    parent: eth0
    address: 10.0.0.2/24
    namespaces:
      a: { interface: mac1, address: 10.9.0.3/24, vlan: 50 }
  node2:
    parent: eth0
    address: 10.0.0.3/24
    namespaces:
      b: { interface: mac1, address: 10.9.0.4/24, vlan: 60 }
      c: { interface: mac2, address: 10.9.0.5/24 }
`;
    const list = expectReachability(buildTopology(buildPlan(configOf(text)), 'mvlab-test'));
    expect(between(list, 'node1/a', 'node2/b')).toMatchObject({
      reach: false,
      reason: 'node1/a is on VLAN 50 and node2/b on VLAN 60: each VLAN is a LAN of its own, and only a router joins two',
    });
    expect(between(list, 'node1/a', 'node2/c')?.reason).toBe('node1/a is on VLAN 50 and node2/c on the untagged LAN: each VLAN is a LAN of its own, and only a router joins two');
  });
});
