// ipvlan (issue 17): validation of type and mode, one kind and one ipvlan mode per parent, no per-child MAC, the host
// shim; the plan and script of an ipvlan node; every macvlan config rendering as before.
import { describe, expect, it } from 'vitest';
import { BASE, problemsOf } from '../support/config.js';
import { renderConfig, validateText } from '../../src/pipeline.js';

const IPVLAN = BASE.replace('version: 1\n', 'version: 1\ndefaults: { type: ipvlan }\n');
const withShim = (text: string, shim = '{ interface: ipv0 }') => text.replace('    namespaces:', `    hostShim: ${shim}\n    namespaces:`);
const second = (lines = '') => `      ns2:\n        interface: mac2\n        address: 10.0.0.4/24\n${lines}`;
const planOf = (text: string) => renderConfig(validateText(text, 'test.yaml').config, 'test');

describe('validation of ipvlan: one test per rule', () => {
  it('accepts an ipvlan node, l2 and l3, with an l2 shim, without warnings', () => {
    expect(problemsOf(IPVLAN)).toEqual([]);
    expect(problemsOf(IPVLAN.replace('    parent: eth0', '    parent: eth0\n    mode: l3'))).toEqual([]);
    expect(problemsOf(withShim(IPVLAN))).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['unknown type', BASE.replace('    parent: eth0', '    parent: eth0\n    type: ipvlam'), 'error: nodes.node1.type (line 5:11): the string "ipvlam" is not allowed; use one of "macvlan", "ipvlan"'],
    ['ipvlan mode on a macvlan namespace', `${BASE}        mode: l2\n`, 'error: nodes.node1.namespaces.ns1.mode (line 11:15): namespace ns1 is of type macvlan, and mode "l2" is an ipvlan mode; with type macvlan use "bridge", "private", "vepa", "passthru", "source"'],
    ['macvlan mode on an ipvlan namespace', `${BASE}        type: ipvlan\n        mode: bridge\n`, 'error: nodes.node1.namespaces.ns1.mode (line 12:15): namespace ns1 is of type ipvlan, and mode "bridge" is a macvlan mode; with type ipvlan use "l2", "l3", "l3s"'],
    ['an inherited macvlan mode meets an ipvlan node', BASE.replace('version: 1\n', 'version: 1\ndefaults: { mode: bridge }\n').replace('    parent: eth0', '    parent: eth0\n    type: ipvlan'), 'error: nodes.node1.type (line 6:11): namespace ns1 is of type ipvlan, and mode "bridge" is a macvlan mode; with type ipvlan use "l2", "l3", "l3s"'],
    ['a literal MAC on an ipvlan namespace', `${IPVLAN}        mac: "02:00:00:00:00:01"\n`, 'error: nodes.node1.namespaces.ns1.mac (line 12:14): an ipvlan always has its parent\'s MAC (the kernel ignores another and refuses to change it); remove "mac", or use type macvlan'],
    ['a literal MAC on an ipvlan shim', withShim(IPVLAN, '{ interface: ipv0, mac: "02:00:00:00:00:01" }'), 'error: nodes.node1.hostShim.mac (line 8:39): an ipvlan shim always has its parent\'s MAC (the kernel ignores another and refuses to change it); remove "mac"'],
    ['macvlan and ipvlan on one parent', `${BASE}${second('        type: ipvlan\n')}`, 'error: nodes.node1.namespaces.ns2.type (line 14:15): namespace ns2 is an ipvlan, and namespace ns1 on the same parent eth0 is a macvlan: the kernel gives a parent to one kind only (the second fails with "Device or resource busy"); give the node one type'],
    ['a macvlan shim beside ipvlan namespaces', withShim(`${BASE}        type: ipvlan\n`, '{ interface: mac0 }'), 'error: nodes.node1.hostShim.interface (line 7:28): the host shim mac0 is a macvlan, and namespace ns1 on the same parent eth0 is an ipvlan: the kernel gives a parent to one kind only (the second fails with "Device or resource busy"); give the node one type'],
    ['two ipvlan modes on one parent', `${IPVLAN}${second('        mode: l3\n')}`, 'error: nodes.node1.namespaces.ns2.interface (line 13:20): namespace ns2 is an ipvlan in mode "l3", and namespace ns1 on the same parent eth0 in mode "l2": the kernel keeps one ipvlan mode per parent (each new child switches all of them); give them one mode'],
    ['an l3 shim', withShim(IPVLAN.replace('    parent: eth0', '    parent: eth0\n    mode: l3')), 'error: nodes.node1.hostShim (line 9:15): the host address cannot move onto an ipvlan in mode "l3": it answers no ARP, so the gateway and the LAN lose the host; use mode "l2" for this node, or no hostShim'],
    ['an ipvlan shim with an IPv6 host address', withShim(IPVLAN.replace('address: 10.0.0.2/24', 'address: [10.0.0.2/24, "2001:db8::2/64"]')), 'error: nodes.node1.address (line 6:14): an ipvlan shim cannot take an IPv6 host address: the script announces it by setting the shim\'s MAC again, which an ipvlan refuses; use type macvlan for this node, or no hostShim'],
    ['promisc on an ipvlan-only node', IPVLAN.replace('    parent: eth0', '    parent: eth0\n    promisc: true'), 'warning: nodes.node1.promisc (line 6:14): every link of node "node1" is an ipvlan, which uses the parent\'s own MAC: eth0 needs no promiscuous mode; remove "promisc"'],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toContain(expected);
  });
});

describe('the plan and script of an ipvlan node', () => {
  it('makes ipvlans in the node\'s mode, without promisc or MACs, and reads them back as ipvlans', () => {
    const text = withShim(IPVLAN.replace('type: ipvlan }', 'type: ipvlan, mac: auto, promisc: true }'));
    const { plan, scripts } = planOf(text);
    const [node] = plan.nodes;
    expect(node).toMatchObject({ linkType: 'ipvlan', ipvlan: true, probeMode: 'l2', promisc: false });
    expect(node?.namespaces[0]).toMatchObject({ type: 'ipvlan', mode: 'l2' });
    expect(node?.namespaces[0]?.mac).toBeUndefined();
    expect(node?.hostShim).toMatchObject({ type: 'ipvlan', mode: 'l2' });
    expect(node?.hostShim?.mac).toBeUndefined();
    const script = scripts[0]?.content ?? '';
    expect(script).toContain("ip link add link eth0 name mac1 netns ns1 type ipvlan mode l2\n");
    expect(script).toContain("type ipvlan mode l2\n  ensure_arp_hygiene");
    expect(script).toContain('readonly WANT_PROMISC=no\n');
    expect(script).not.toContain('[promisc]');
    expect(script).toContain('# region ipvlan\n');
  });

  it('gives an ipvlan shim its children\'s mode, and a child without a mode l2', () => {
    const { plan } = planOf(withShim(IPVLAN.replace('    parent: eth0', '    parent: eth0\n    type: ipvlan')));
    expect(plan.nodes[0]?.hostShim?.mode).toBe('l2');
  });

  it('leaves a macvlan node\'s plan without the ipvlan flag, so its script has no ipvlan code (only the advice to use it)', () => {
    const { plan, scripts } = planOf(BASE);
    expect(plan.nodes[0]).toMatchObject({ linkType: 'macvlan', probeMode: 'bridge' });
    expect(plan.nodes[0]?.ipvlan).toBeUndefined();
    const mentions = (scripts[0]?.content ?? '').split('\n').filter((line) => line.includes('ipvlan'));
    expect(mentions).toEqual(["  printf '        or use type: ipvlan.\\n'"]);
  });
});
