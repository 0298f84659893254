import { describe, expect, it } from 'vitest';
import { BASE, problemsOf } from '../support/config.js';
import { renderConfig, validateText } from '../../src/pipeline.js';

const generateFrom = (text: string) => renderConfig(validateText(text, 'test.yaml').config, 'test');

const withNode = (nodeLines: string) => `version: 1\nnodes:\n  node1:\n${nodeLines}`;

describe('validation: one test per rule, asserting message and line:column', () => {
  it('accepts the base config with no problems', () => {
    expect(problemsOf(BASE)).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['empty file', '', 'error: (top level): the config is empty; it needs at least "version: 1" and "nodes" (see `macvlan-gen init`)'],
    ['comment-only file', '# nothing\n', 'error: (top level): the config is empty; it needs at least "version: 1" and "nodes" (see `macvlan-gen init`)'],
    ['YAML syntax error', 'version: 1\nnodes: [\n', 'error: (top level) (line 3:1): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['duplicate key', 'version: 1\nversion: 1\nnodes: {}\n', 'error: (top level) (line 2:1): duplicate key: Map keys must be unique'],
    ['top level is not a map', '- 1\n- 2\n', 'error: (top level) (line 1:1): expected a map, got a list'],
    ['version other than 1', BASE.replace('version: 1', 'version: 2'), 'error: version (line 1:10): number 2 is not allowed; use 1'],
    ['missing version', BASE.replace('version: 1\n', ''), 'error: (top level) (line 1:1): missing required key "version"'],
    ['unknown key with did-you-mean', BASE.replace('    gateway:', '    gatway:'), 'error: nodes.node1.gatway (line 6:5): unknown key "gatway"; did you mean "gateway"?'],
    ['unknown key without a close match', BASE.replace('version: 1', 'version: 1\ncolour: blue'), 'error: colour (line 2:1): unknown key "colour"; allowed here: $schema, version, defaults, nodes'],
    ['wrong type', BASE.replace('parent: eth0', 'parent: [eth0]'), 'error: nodes.node1.parent (line 4:13): expected a string, got a list'],
    ['missing required key', withNode('    parent: eth0\n'), 'error: nodes.node1 (line 4:5): missing required key "address" (a string or a list)'],
    ['unknown mode', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/24\n        mode: bridged'), 'error: nodes.node1.namespaces.ns1.mode (line 11:15): the string "bridged" is not allowed; use one of "bridge", "private", "vepa", "passthru", "source", "l2", "l3", "l3s"'],
    ['node name not usable as a host name', BASE.replace('  node1:', '  Node_1:'), 'error: nodes.Node_1 (line 3:3): node name "Node_1" is not usable as a host and file name; use lowercase letters, digits and "-", not at the start or end'],
    ['netns name with a slash', BASE.replace('      ns1:', '      ns/1:'), 'error: nodes.node1.namespaces.ns/1 (line 8:7): namespace name: "ns/1" contains "/", which is not allowed; use letters, digits, "_", "." and "-"'],
    ['interface name too long', BASE.replace('interface: mac1', 'interface: mac-interface-too-long'), 'error: nodes.node1.namespaces.ns1.interface (line 9:20): "mac-interface-too-long" is 22 characters, must be at most 15'],
    ['interface name with a space', BASE.replace('interface: mac1', 'interface: "mac 1"'), 'error: nodes.node1.namespaces.ns1.interface (line 9:20): "mac 1" contains " ", which is not allowed; use letters, digits, "_", "." and "-"'],
    ['interface name starting with a dash', BASE.replace('parent: eth0', 'parent: -eth0'), 'error: nodes.node1.parent (line 4:13): "-eth0" must not start with "." or "-"'],
    ['interface name unique on a node', BASE.replace('interface: mac1', 'interface: eth0'), 'error: nodes.node1.namespaces.ns1.interface (line 9:20): interface "eth0" is already used on this node by nodes.node1.parent; names must be unique on a node'],
    ['address is not a CIDR', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): "10.0.0.3" is not an IPv4 CIDR; write ADDRESS/PREFIX, like 192.168.179.12/16'],
    ['address octet out of range', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.300/24'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): "10.0.0.300/24": "10.0.0.300" is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1'],
    ['prefix out of range', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/33'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): "10.0.0.3/33" has prefix /33, must be 0-32'],
    ['network address', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.0/24'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): "10.0.0.0/24" is the network address of 10.0.0.0/24; use a host address'],
    ['broadcast address', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.255/24'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): "10.0.0.255/24" is the broadcast address of 10.0.0.0/24; use a host address'],
    ['address unique across the config', `${BASE}  node2:\n    parent: eth0\n    address: 10.0.0.3/24\n    namespaces: { ns1: { interface: mac1, address: 10.0.0.4/24 } }\n`, 'error: nodes.node2.address (line 13:14): address 10.0.0.3 is already assigned at nodes.node1.namespaces.ns1.address'],
    ['gateway is not an assigned address', BASE.replace('gateway: 10.0.0.1', 'gateway: 10.0.0.3'), 'error: nodes.node1.gateway (line 6:14): gateway 10.0.0.3 is the address assigned at nodes.node1.namespaces.ns1.address; a gateway must be another machine'],
    ['gateway is not an IPv4 address', BASE.replace('gateway: 10.0.0.1', 'gateway: gw.local'), 'error: nodes.node1.gateway (line 6:14): "gw.local" is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1'],
    ['node gateway on-link', BASE.replace('gateway: 10.0.0.1', 'gateway: 10.0.1.1'), 'error: nodes.node1.gateway (line 6:14): gateway 10.0.1.1 is not on-link: it must be inside 10.0.0.0/24'],
    ['namespace gateway on-link', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/24\n        gateway: 10.9.0.1'), 'error: nodes.node1.namespaces.ns1.gateway (line 11:18): gateway 10.9.0.1 is not on-link: it must be inside 10.0.0.0/24'],
    ['route via on-link', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/24\n        routes: [{ to: 172.16.0.0/12, via: 10.9.0.1 }]'), 'error: nodes.node1.namespaces.ns1.routes[0].via (line 11:44): next hop 10.9.0.1 is not on-link: it must be inside 10.0.0.0/24'],
    ['route destination with host bits', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/24\n        routes: [{ to: 172.16.0.1/12, via: 10.0.0.1 }]'), 'error: nodes.node1.namespaces.ns1.routes[0].to (line 11:24): "172.16.0.1/12" has host bits set; the network is 172.16.0.0/12'],
    ['duplicate route destination', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.0.3/24\n        routes: [{ to: 172.16.0.0/12, via: 10.0.0.1 }, { to: 172.16.0.0/12, via: 10.0.0.4 }]'), 'error: nodes.node1.namespaces.ns1.routes[1].to (line 11:62): route to 172.16.0.0/12 is already given at nodes.node1.namespaces.ns1.routes.0.to'],
    ['hostShim needs a node gateway', withNode('    parent: eth0\n    address: 10.0.0.2/24\n    hostShim: { interface: mac0 }\n'), 'error: nodes.node1 (line 4:5): hostShim needs an IPv4 "gateway" on the node: the migration re-adds the default route through it'],
    ['passthru must be the only macvlan on its parent', `${BASE}        mode: passthru\n      ns2:\n        interface: mac2\n        address: 10.0.0.4/24\n`, 'error: nodes.node1.namespaces.ns1.mode (line 11:15): mode "passthru" takes the whole parent eth0, so it must be the only macvlan on it (this node has 2)'],
    ['passthru not with a host shim', BASE.replace('    namespaces:', '    hostShim: { interface: mac0 }\n    namespaces:').concat('        mode: passthru\n'), 'error: nodes.node1.namespaces.ns1.mode (line 12:15): mode "passthru" takes the whole parent eth0, so it must be the only macvlan on it (this node has 2, including the host shim)'],
    ['passthru host shim', BASE.replace('    namespaces:', '    hostShim: { interface: mac0, mode: passthru }\n    namespaces:'), 'error: nodes.node1.hostShim.mode (line 7:40): a host shim cannot use mode "passthru"; use "bridge"'],
    ['source requires sourceMacs', `${BASE}        mode: source\n`, 'error: nodes.node1.namespaces.ns1 (line 9:9): mode "source" needs "sourceMacs": the sender MACs this interface accepts'],
    ['sourceMacs only with source mode', `${BASE}        sourceMacs: ["02:00:00:00:00:01"]\n`, 'error: nodes.node1.namespaces.ns1.sourceMacs (line 11:21): "sourceMacs" only applies to mode "source", and this namespace uses "bridge"'],
    ['MTU below 68', `${BASE}        mtu: 60\n`, 'error: nodes.node1.namespaces.ns1.mtu (line 11:14): number 60 must be at least 68'],
    ['MTU above 65535', `${BASE}        mtu: 70000\n`, 'error: nodes.node1.namespaces.ns1.mtu (line 11:14): number 70000 must be at most 65535'],
    ['MTU not a whole number', `${BASE}        mtu: 1500.5\n`, 'error: nodes.node1.namespaces.ns1.mtu (line 11:14): number 1500.5 must be a whole number'],
    ['MAC malformed', `${BASE}        mac: "02:00:00:00:00"\n`, 'error: nodes.node1.namespaces.ns1.mac (line 11:14): "02:00:00:00:00" is not a MAC address; write six hex pairs separated by ":", like 02:42:ac:11:00:02, or "auto" (derived) or "random"'],
    ['MAC keyword misspelt', `${BASE}        mac: randum\n`, 'error: nodes.node1.namespaces.ns1.mac (line 11:14): "randum" is not a MAC address; write six hex pairs separated by ":", like 02:42:ac:11:00:02, or "auto" (derived) or "random"'],
    ['defaults.mac neither auto nor random', BASE.replace('version: 1\n', 'version: 1\ndefaults: { mac: "02:00:00:00:00:01" }\n'), 'error: defaults.mac (line 2:18): the string "02:00:00:00:00:01" is not allowed; use one of "auto", "random"'],
    ['MAC multicast', `${BASE}        mac: "01:00:5e:00:00:01"\n`, 'error: nodes.node1.namespaces.ns1.mac (line 11:14): "01:00:5e:00:00:01" is a multicast MAC address; use a unicast one (first octet even)'],
    ['MAC unique', BASE.replace('    namespaces:', '    hostShim: { interface: mac0, mac: "02:00:00:00:00:01" }\n    namespaces:').concat('        mac: "02:00:00:00:00:01"\n'), 'error: nodes.node1.namespaces.ns1.mac (line 12:14): MAC 02:00:00:00:00:01 is already used at nodes.node1.hostShim.mac'],
    ['probe is the host itself', BASE.replace('    namespaces:', '    hostShim: { interface: mac0, probes: [10.0.0.2] }\n    namespaces:'), 'error: nodes.node1.hostShim.probes[0] (line 7:43): probe 10.0.0.2 is the host\'s own address and proves nothing'],
    ['confirmTimeout too short', BASE.replace('    namespaces:', '    hostShim: { interface: mac0, confirmTimeout: 2 }\n    namespaces:'), 'error: nodes.node1.hostShim.confirmTimeout (line 7:50): number 2 must be at least 10'],
    ['warning: namespace outside the host subnet', BASE.replace('address: 10.0.0.3/24', 'address: 10.0.5.3/24'), 'warning: nodes.node1.namespaces.ns1.address (line 10:18): 10.0.5.3/24 is outside the host\'s subnet 10.0.0.0/24; the namespace reaches the host\'s LAN only through a router'],
    ['warning: host shim cannot reach a private namespace', BASE.replace('    namespaces:', '    hostShim: { interface: mac0 }\n    namespaces:').concat('        mode: private\n'), 'warning: nodes.node1.namespaces.ns1.mode (line 12:15): the host shim mac0 (mode bridge) cannot reach this namespace (mode private) directly: macvlan delivers between siblings only when both are in bridge mode'],
    ['warning: passthru cuts the host address off', `${BASE}        mode: passthru\n`, 'warning: nodes.node1.namespaces.ns1.mode (line 11:15): mode "passthru" hands every frame on eth0 to mac1: the host address 10.0.0.2/24 on eth0 stops answering, so the node needs another way in'],
    ['warning: node with nothing to do', withNode('    parent: eth0\n    address: 10.0.0.2/24\n'), 'warning: nodes.node1 (line 3:3): node "node1" has no namespaces and no hostShim; its script will change nothing but promisc'],
    ['no nodes', 'version: 1\nnodes: {}\n', 'error: nodes (line 2:8): no nodes: add at least one'],
    ['YAML alias bomb', `${BASE}x:\n  a: &a [v, v, v, v, v, v, v, v, v, v]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n`, 'error: (top level) (line 13:9): too many aliases: the 10 uses of anchor &b expand to 110 aliased nodes, more than the 100 allowed (the limit that stops YAML alias bombs); write the values out instead'],
    ['alias without an anchor', 'version: 1\nnodes: *fleet\n', 'error: (top level) (line 2:8): alias *fleet has no anchor &fleet before it'],
    ['namespace named __proto__', BASE.replace('      ns1:', '      __proto__:'), 'error: nodes.node1.namespaces.__proto__ (line 8:7): namespace name: "__proto__" is reserved (every JavaScript object has a property of that name); choose another name'],
    ['namespace named constructor', BASE.replace('      ns1:', '      constructor:'), 'error: nodes.node1.namespaces.constructor (line 8:7): namespace name: "constructor" is reserved (every JavaScript object has a property of that name); choose another name'],
    ['namespace named prototype', BASE.replace('      ns1:', '      prototype:'), 'error: nodes.node1.namespaces.prototype (line 8:7): namespace name: "prototype" is reserved (every JavaScript object has a property of that name); choose another name'],
    ['node named __proto__', BASE.replace('  node1:', '  __proto__:'), 'error: nodes.__proto__ (line 3:3): node name "__proto__" is reserved (every JavaScript object has a property of that name); choose another name'],
    ['node named constructor', BASE.replace('  node1:', '  constructor:'), 'error: nodes.constructor (line 3:3): node name "constructor" is reserved (every JavaScript object has a property of that name); choose another name'],
    ['parent is the loopback interface', BASE.replace('parent: eth0', 'parent: lo'), 'error: nodes.node1.parent (line 4:13): "lo" is the loopback interface: every namespace already has one, and macvlan cannot sit on it; choose another name'],
    ['namespace interface is the loopback interface', BASE.replace('interface: mac1', 'interface: lo'), 'error: nodes.node1.namespaces.ns1.interface (line 9:20): "lo" is the loopback interface: every namespace already has one, and macvlan cannot sit on it; choose another name'],
    ['interface named all', BASE.replace('interface: mac1', 'interface: all'), 'error: nodes.node1.namespaces.ns1.interface (line 9:20): "all" is reserved: /proc/sys/net/ipv4/conf/all sets every interface, so the kernel cannot register a device of that name; choose another name'],
    ['shim interface named default', BASE.replace('    namespaces:', '    hostShim: { interface: default }\n    namespaces:'), 'error: nodes.node1.hostShim.interface (line 7:28): "default" is reserved: /proc/sys/net/ipv4/conf/default sets new interfaces, so the kernel cannot register a device of that name; choose another name'],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });
});

describe('validation of dual stack (issue 16): addresses and gateways per family', () => {
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
        gateway: [10.0.0.1, fe80::1]
        routes: [{ to: 2001:db8:100::/48, via: 2001:db8:1::fe }, { to: 172.16.0.0/12, via: 10.0.0.1 }]
`;

  it('accepts one address and one gateway of each family, a link-local IPv6 gateway and routes of both families', () => {
    expect(problemsOf(DUAL)).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['two host addresses of one family', DUAL.replace('[10.0.0.2/24, 2001:db8:1::2/64]', '[10.0.0.2/24, 10.0.0.9/24]').replace('[10.0.0.1, 2001:db8:1::1]', '10.0.0.1'), 'error: nodes.node1.address[1] (line 5:28): a second IPv4 address (10.0.0.9/24 after 10.0.0.2/24); give at most one address of each family'],
    ['IPv6 only', DUAL.replace('[10.0.0.3/24, 2001:db8:1::3/64]', '2001:db8:1::3/64').replace('[10.0.0.1, fe80::1]', 'fe80::1').replace(', { to: 172.16.0.0/12, via: 10.0.0.1 }', ''), 'error: nodes.node1.namespaces.ns1.address (line 10:18): needs an IPv4 address; an IPv6 address comes in addition to it (dual stack)'],
    ['more than two host addresses', DUAL.replace('[10.0.0.2/24, 2001:db8:1::2/64]', '[10.0.0.2/24, 2001:db8:1::2/64, 10.0.0.9/24]'), 'error: nodes.node1.address (line 5:14): must have at most 2 item(s), has 3'],
    ['an address of the wrong type', DUAL.replace('[10.0.0.3/24, 2001:db8:1::3/64]', '5'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): expected a string or a list, got number 5'],
    ['an IPv6 address that is not one', DUAL.replace('2001:db8:1::3/64', '2001:db8:1::g/64'), 'error: nodes.node1.namespaces.ns1.address[1] (line 10:32): "2001:db8:1::g/64": "2001:db8:1::g" is not an IPv6 address; write it like 2001:db8::1 (without a %zone)'],
    ['an IPv6 subnet-router anycast address', DUAL.replace('2001:db8:1::3/64', '2001:db8:1::/64'), 'error: nodes.node1.namespaces.ns1.address[1] (line 10:32): "2001:db8:1::/64" is the subnet-router anycast address of 2001:db8:1::/64; use a host address'],
    ['an IPv6 address assigned twice, spelt two ways', DUAL.replace('2001:db8:1::3/64', '2001:DB8:1:0::2/64'), 'error: nodes.node1.namespaces.ns1.address[1] (line 10:32): address 2001:DB8:1:0::2 is already assigned at nodes.node1.address.1'],
    ['two gateways of one family', DUAL.replace('[10.0.0.1, 2001:db8:1::1]', '[10.0.0.1, 10.0.0.254]'), 'error: nodes.node1.gateway[1] (line 6:25): a second IPv4 gateway (10.0.0.254 after 10.0.0.1); give at most one gateway of each family'],
    ['an IPv6 gateway without an IPv6 address', DUAL.replace('[10.0.0.3/24, 2001:db8:1::3/64]', '10.0.0.3/24').replace('{ to: 2001:db8:100::/48, via: 2001:db8:1::fe }, ', ''), 'error: nodes.node1.namespaces.ns1.gateway[1] (line 11:29): gateway fe80::1 is IPv6, and this interface has no IPv6 address'],
    ['an IPv6 gateway off-link', DUAL.replace('[10.0.0.1, 2001:db8:1::1]', '[10.0.0.1, 2001:db8:2::1]'), 'error: nodes.node1.gateway[1] (line 6:25): gateway 2001:db8:2::1 is not on-link: it must be inside 2001:db8:1::/64'],
    ['a gateway that is an assigned IPv6 address', DUAL.replace('[10.0.0.1, 2001:db8:1::1]', '[10.0.0.1, 2001:db8:1::3]'), 'error: nodes.node1.gateway[1] (line 6:25): gateway 2001:db8:1::3 is the address assigned at nodes.node1.namespaces.ns1.address.1; a gateway must be another machine'],
    ['a route across families', DUAL.replace('via: 2001:db8:1::fe', 'via: 10.0.0.254'), 'error: nodes.node1.namespaces.ns1.routes[0].via (line 12:48): next hop 10.0.0.254 is IPv4, and the destination 2001:db8:100::/48 is IPv6'],
    ['an IPv6 route next hop off-link', DUAL.replace('via: 2001:db8:1::fe', 'via: 2001:db8:9::fe'), 'error: nodes.node1.namespaces.ns1.routes[0].via (line 12:48): next hop 2001:db8:9::fe is not on-link: it must be inside 2001:db8:1::/64'],
    ['an IPv6 route destination with host bits', DUAL.replace('to: 2001:db8:100::/48', 'to: 2001:db8:100::1/48'), 'error: nodes.node1.namespaces.ns1.routes[0].to (line 12:24): "2001:db8:100::1/48" has host bits set; the network is 2001:db8:100::/48'],
    ['an MTU too small for IPv6 on a namespace', DUAL.replace('        interface: mac1\n', '        interface: mac1\n        mtu: 1200\n'), 'error: nodes.node1.namespaces.ns1.mtu (line 10:14): MTU 1200 is below 1280, the least IPv6 works with: the kernel turns IPv6 off on mac1, and its IPv6 address could not be set. Raise the MTU, or give it no IPv6 address'],
    ['an MTU too small for IPv6 on the host shim', DUAL.replace('    namespaces:', '    hostShim: { interface: mac0, mtu: 1200 }\n    namespaces:'), 'error: nodes.node1.hostShim.mtu (line 7:39): MTU 1200 is below 1280, the least IPv6 works with: the kernel turns IPv6 off on mac0, and its IPv6 address could not be set. Raise the MTU, or give it no IPv6 address'],
    ['nodad that is not a boolean', DUAL.replace('        interface: mac1\n', '        interface: mac1\n        nodad: yes\n'), 'error: nodes.node1.namespaces.ns1.nodad (line 10:16): expected true or false, got the string "yes"'],
    ['warning: nodad on a namespace without IPv6', DUAL.replace('[10.0.0.3/24, 2001:db8:1::3/64]', '10.0.0.3/24').replace('[10.0.0.1, fe80::1]', '10.0.0.1').replace('{ to: 2001:db8:100::/48, via: 2001:db8:1::fe }, ', '').replace('        interface: mac1\n', '        interface: mac1\n        nodad: true\n'), 'warning: nodes.node1.namespaces.ns1.nodad (line 10:16): nodad concerns IPv6 addresses, and this namespace has none; it changes nothing here'],
    ['warning: an IPv6 namespace address outside the host subnet', DUAL.replace('2001:db8:1::3/64', '2001:db8:5::3/64').replace('via: 2001:db8:1::fe', 'via: 2001:db8:5::fe'), "warning: nodes.node1.namespaces.ns1.address[1] (line 10:32): 2001:db8:5::3/64 is outside the host's subnet 2001:db8:1::/64; the namespace reaches the host's LAN only through a router"],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });
});

describe('validation as a whole', () => {
  it('collects every shape problem at once, in source order', () => {
    const text = BASE.replace('version: 1', 'version: 3').replace('parent: eth0', 'parent: 7').replace('interface: mac1', 'interfac: mac1');
    expect(problemsOf(text)).toEqual([
      'error: version (line 1:10): number 3 is not allowed; use 1',
      'error: nodes.node1.parent (line 4:13): expected a string, got number 7',
      'error: nodes.node1.namespaces.ns1 (line 9:9): missing required key "interface" (a string)',
      'error: nodes.node1.namespaces.ns1.interfac (line 9:9): unknown key "interfac"; did you mean "interface"?',
    ]);
  });

  it('collects every cross-field problem at once', () => {
    const text = `${BASE}  node2:\n    parent: eth0\n    address: 10.0.0.3/24\n    gateway: 10.1.0.1\n`;
    expect(problemsOf(text)).toEqual([
      'warning: nodes.node2 (line 11:3): node "node2" has no namespaces and no hostShim; its script will change nothing but promisc',
      'error: nodes.node2.address (line 13:14): address 10.0.0.3 is already assigned at nodes.node1.namespaces.ns1.address',
      'error: nodes.node2.gateway (line 14:14): gateway 10.1.0.1 is not on-link: it must be inside 10.0.0.0/24',
    ]);
  });

  it('--strict turns warnings into errors', () => {
    const text = BASE.replace('address: 10.0.0.3/24', 'address: 10.0.5.3/24');
    expect(problemsOf(text, { strict: true })[0]).toMatch(/^error: nodes\.node1\.namespaces\.ns1\.address \(line 10:18\)/);
  });

  it('reads JSON with the same shape, with positions', () => {
    const json = '{\n  "version": 1,\n  "nodes": {\n    "node1": { "parent": "eth0", "address": "10.0.0.2/33" }\n  }\n}\n';
    expect(problemsOf(json, { sourceName: 'fleet.json' })).toEqual([
      'error: nodes.node1.address (line 4:45): "10.0.0.2/33" has prefix /33, must be 0-32',
    ]);
  });

  it('reports a name problem together with the shape problems, which the schema alone would hide', () => {
    const text = BASE.replace('      ns1:', '      __proto__:').replace('parent: eth0', 'parent: [eth0]');
    expect(problemsOf(text)).toEqual([
      'error: nodes.node1.parent (line 4:13): expected a string, got a list',
      'error: nodes.node1.namespaces.__proto__ (line 8:7): namespace name: "__proto__" is reserved (every JavaScript object has a property of that name); choose another name',
    ]);
  });

  it('reports a name problem together with the cross-field problems', () => {
    const text = BASE.replace('      ns1:', '      constructor:').replace('gateway: 10.0.0.1', 'gateway: 10.0.0.3');
    expect(problemsOf(text)).toEqual([
      'error: nodes.node1.gateway (line 6:14): gateway 10.0.0.3 is the address assigned at nodes.node1.namespaces.constructor.address; a gateway must be another machine',
      'error: nodes.node1.namespaces.constructor (line 8:7): namespace name: "constructor" is reserved (every JavaScript object has a property of that name); choose another name',
    ]);
  });

  it('reads a JSON __proto__ key as a name to reject, not as a prototype', () => {
    const json = '{"version": 1, "nodes": {"node1": {"parent": "eth0", "address": "10.0.0.2/24",\n "namespaces": {"__proto__": {"interface": "mac1", "address": "10.0.0.3/24"}}}}}\n';
    expect(problemsOf(json, { sourceName: 'fleet.json' })).toEqual([
      'error: nodes.node1.namespaces.__proto__ (line 2:17): namespace name: "__proto__" is reserved (every JavaScript object has a property of that name); choose another name',
    ]);
  });

  it('collects more shape problems than one call stack can spread (zod hands issues up with push(...issues))', () => {
    const namespaces = Array.from({ length: 50_000 }, (_, i) => `      ns${i}: { interfac: mv${i}, address: 10.0.0.3/33, mtu: 1 }\n`).join('');
    const problems = problemsOf(`version: 1\nnodes:\n  node1:\n    parent: eth0\n    address: 10.0.0.2/24\n    namespaces:\n${namespaces}`);
    expect(problems).toHaveLength(200_000);
    expect(problems.slice(-4)).toEqual([
      'error: nodes.node1.namespaces.ns49999 (line 50006:16): missing required key "interface" (a string)',
      'error: nodes.node1.namespaces.ns49999.interfac (line 50006:18): unknown key "interfac"; did you mean "interface"?',
      'error: nodes.node1.namespaces.ns49999.address (line 50006:46): "10.0.0.3/33" has prefix /33, must be 0-32',
      'error: nodes.node1.namespaces.ns49999.mtu (line 50006:64): number 1 must be at least 68',
    ]);
  });

  it('rejects JSON that YAML would accept but JSON does not', () => {
    expect(problemsOf('{\n  "version": 1,\n  "nodes": {},\n}\n', { sourceName: 'fleet.json' })).toEqual([
      'error: (top level) (line 4:1): JSON syntax error: Expected double-quoted property name',
    ]);
  });
});

describe('validation of per-namespace DNS (issue 17)', () => {
  const DNS = `version: 1
defaults:
  dns: [10.0.0.53]
  search: [lab.example.com]
nodes:
  node1:
    parent: eth0
    address: [10.0.0.2/24, 2001:db8:1::2/64]
    gateway: 10.0.0.1
    namespaces:
      ns1:
        interface: mac1
        address: [10.0.0.3/24, 2001:db8:1::3/64]
        gateway: [10.0.0.1, 2001:db8:1::1]
        dns: [10.0.0.53, 2001:db8:1::53, 192.0.2.53]
        search: [apps.example.com, lab.example.com]
      ns2:
        interface: mac2
        address: 10.0.0.4/24
`;

  it('accepts nameservers of both families, off-link ones behind a gateway, search domains, and the defaults\' for a namespace without', () => {
    expect(problemsOf(DNS)).toEqual([]);
  });

  it('accepts a nameserver on the namespace\'s own loopback (a local cache) without a gateway', () => {
    expect(problemsOf(DNS.replace('        address: 10.0.0.4/24\n', '        address: 10.0.0.4/24\n        dns: [127.0.0.53]\n'))).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['a nameserver that is not an address', DNS.replace('192.0.2.53]', '192.0.2.053]'), 'error: nodes.node1.namespaces.ns1.dns[2] (line 15:42): "192.0.2.053" is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1'],
    ['four nameservers', DNS.replace('192.0.2.53]', '192.0.2.53, 192.0.2.54]'), 'error: nodes.node1.namespaces.ns1.dns (line 15:14): 4 nameservers; give at most 3: the resolver (glibc, musl) ignores every one after the 3rd'],
    ['four nameservers in the defaults', DNS.replace('dns: [10.0.0.53]', 'dns: [10.0.0.53, 10.0.0.54, 10.0.0.55, 10.0.0.56]'), 'error: defaults.dns (line 3:8): 4 nameservers; give at most 3: the resolver (glibc, musl) ignores every one after the 3rd'],
    ['a nameserver listed twice, spelt two ways', DNS.replace('192.0.2.53]', '2001:DB8:1:0::53]'), 'error: nodes.node1.namespaces.ns1.dns[2] (line 15:42): nameserver 2001:DB8:1:0::53 is already listed at nodes.node1.namespaces.ns1.dns.1'],
    ['a nameserver listed twice in the defaults', DNS.replace('dns: [10.0.0.53]', 'dns: [10.0.0.53, 10.0.0.53]'), 'error: defaults.dns[1] (line 3:20): nameserver 10.0.0.53 is already listed at defaults.dns.0'],
    ['an IPv6 nameserver for a namespace without IPv6', DNS.replace('        address: 10.0.0.4/24\n', '        address: 10.0.0.4/24\n        dns: [2001:db8:1::53]\n'), 'error: nodes.node1.namespaces.ns2.dns[0] (line 20:15): nameserver 2001:db8:1::53 is IPv6, and this namespace has no IPv6 address: it cannot reach it'],
    ['warning: an IPv6 nameserver of the defaults for a namespace without IPv6', DNS.replace('dns: [10.0.0.53]', 'dns: [10.0.0.53, 2001:db8:1::53]'), "warning: nodes.node1.namespaces.ns2 (line 18:9): nameserver 2001:db8:1::53 (defaults.dns.1) is IPv6, and this namespace has no IPv6 address: it cannot reach it, and asks the others"],
    ['warning: an off-link nameserver without a gateway or route', DNS.replace('        address: 10.0.0.4/24\n', '        address: 10.0.0.4/24\n        dns: [192.0.2.53]\n'), 'warning: nodes.node1.namespaces.ns2.dns[0] (line 20:15): nameserver 192.0.2.53 is outside 10.0.0.0/24, and this namespace has no IPv4 gateway or route to it: it cannot reach it'],
    ['search domains without a nameserver', DNS.replace('        address: 10.0.0.4/24\n', '        address: 10.0.0.4/24\n        dns: []\n        search: [x.example]\n'), 'error: nodes.node1.namespaces.ns2.search (line 21:17): search domains need a nameserver: give the namespace "dns" (or the defaults one), or remove "search"'],
    ['a search domain that is not a domain name', DNS.replace('apps.example.com', 'apps.example.com;reboot'), 'error: nodes.node1.namespaces.ns1.search[0] (line 16:18): "apps.example.com;reboot" is not a domain name; write labels of letters, digits, "-" and "_" joined by dots, like lab.example.com (each label 1-63 characters, not starting or ending with "-"; 253 in all)'],
    ['a search domain label of 64 characters', DNS.replace('apps.example.com', `${'a'.repeat(64)}.example.com`), `error: nodes.node1.namespaces.ns1.search[0] (line 16:18): "${'a'.repeat(64)}.example.com" is not a domain name; write labels of letters, digits, "-" and "_" joined by dots, like lab.example.com (each label 1-63 characters, not starting or ending with "-"; 253 in all)`],
    ['seven search domains', DNS.replace('[apps.example.com, lab.example.com]', '[a.example, b.example, c.example, d.example, e.example, f.example, g.example]'), 'error: nodes.node1.namespaces.ns1.search (line 16:17): 7 search domains; give at most 6: older resolvers (glibc before 2.26, musl) ignore the rest'],
    ['a link-local nameserver', DNS.replace('192.0.2.53]', 'fe80::53]'), 'error: nodes.node1.namespaces.ns1.dns[2] (line 15:42): nameserver fe80::53 is link-local: resolv.conf cannot say which interface to ask it on, and the resolver cannot reach it; give a global address'],
    ['a multicast nameserver', DNS.replace('192.0.2.53]', '224.0.0.251]'), 'error: nodes.node1.namespaces.ns1.dns[2] (line 15:42): nameserver 224.0.0.251 is a multicast address; give the address of a machine that answers DNS'],
    ['the unspecified address as nameserver', DNS.replace('192.0.2.53]', '0.0.0.0]'), 'error: nodes.node1.namespaces.ns1.dns[2] (line 15:42): nameserver 0.0.0.0 is the unspecified address; give the address of a machine that answers DNS'],
    ['a search domain listed twice', DNS.replace('[apps.example.com, lab.example.com]', '[lab.example.com, LAB.example.com.]'), 'error: nodes.node1.namespaces.ns1.search[1] (line 16:35): search domain LAB.example.com. is already listed at nodes.node1.namespaces.ns1.search.0'],
    ['dns on a node', DNS.replace('    gateway: 10.0.0.1\n', '    gateway: 10.0.0.1\n    dns: [10.0.0.53]\n'), 'error: nodes.node1.dns (line 10:5): unknown key "dns"; allowed here: parent, address, gateway, promisc, type, mode, mtu, nodad, vlan, hostShim, ssh, namespaces'],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });
});

describe('validation of several addresses on a namespace (issue 17)', () => {
  const SEVERAL = `version: 1
nodes:
  node1:
    parent: eth0
    address: [10.0.0.2/24, 2001:db8:1::2/64]
    gateway: 10.0.0.1
    namespaces:
      ns1:
        interface: mac1
        address: [10.0.0.3/24, 2001:db8:1::3/64, 10.0.0.4/24, 10.9.0.3/24, 2001:db8:1::4/64]
        gateway: [10.0.0.1, fe80::1]
        routes: [{ to: 172.16.0.0/12, via: 10.9.0.1 }]
`;

  it('accepts several addresses of each family, a further one in another subnet without a warning; a next hop may be on-link in any subnet of its family', () => {
    expect(problemsOf(SEVERAL)).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['an address given twice', SEVERAL.replace('10.0.0.4/24', '10.0.0.3/24'), 'error: nodes.node1.namespaces.ns1.address[2] (line 10:50): address 10.0.0.3 is already assigned at nodes.node1.namespaces.ns1.address.0'],
    ['an IPv6 address given twice, spelt two ways', SEVERAL.replace('2001:db8:1::4/64', '2001:DB8:1:0::3/64'), 'error: nodes.node1.namespaces.ns1.address[4] (line 10:76): address 2001:DB8:1:0::3 is already assigned at nodes.node1.namespaces.ns1.address.1'],
    ['a next hop in none of the subnets', SEVERAL.replace('via: 10.9.0.1', 'via: 10.8.0.1'), 'error: nodes.node1.namespaces.ns1.routes[0].via (line 12:44): next hop 10.8.0.1 is not on-link: it must be inside 10.0.0.0/24 or 10.9.0.0/24'],
    ['warning: a further address in a narrower subnet inside the first one\'s', SEVERAL.replace('10.0.0.4/24', '10.0.0.130/25'), "warning: nodes.node1.namespaces.ns1.address[2] (line 10:50): 10.0.0.130/25 lies inside 10.0.0.0/24 of 10.0.0.3/24 with a longer prefix: the kernel would send from it, not from 10.0.0.3, to every address of 10.0.0.128/25; give it the prefix /24 if it is only to answer there"],
    ['no IPv4 address among several', SEVERAL.replace('[10.0.0.3/24, 2001:db8:1::3/64, 10.0.0.4/24, 10.9.0.3/24, 2001:db8:1::4/64]', '[2001:db8:1::3/64, 2001:db8:1::4/64]').replace('[10.0.0.1, fe80::1]', 'fe80::1').replace('routes: [{ to: 172.16.0.0/12, via: 10.9.0.1 }]', 'routes: []'), 'error: nodes.node1.namespaces.ns1.address (line 10:18): needs an IPv4 address; an IPv6 address comes in addition to it (dual stack)'],
  ];

  it.each(cases)('%s', (_rule, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });
});
