// How Ansible reaches a node (issue 18): `ssh` on a node and in defaults, validated so that nothing but an address,
// a DNS name, a port and a user name reaches the inventory; `--ansible-host NODE=ADDRESS` over it; the host address
// without either.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ansibleHostProblems, inventoryText } from '../../src/ansible/ansible.js';
import { generateFromText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { UsageError } from '../../src/errors.js';
import { problemsOf } from '../support/config.js';
import { configOf, SEED_TEXT } from '../support/lab.js';

const META = { generator: 'macvlan-gen 9.9.9', configSha256: 'c0ffee' };

/** Two nodes; `defaults` and each node's `ssh` as given (flow maps). */
const twoNodes = ({ defaults, node1, node2 }: { defaults?: string; node1?: string; node2?: string }): string =>
  [
    'version: 1',
    ...(defaults === undefined ? [] : [`defaults: { ssh: ${defaults} }`]),
    'nodes:',
    '  node1:',
    '    parent: eth0',
    '    address: 10.0.0.2/24',
    ...(node1 === undefined ? [] : [`    ssh: ${node1}`]),
    '    namespaces: { ns1: { interface: mac1, address: 10.0.0.12/24 } }',
    '  node2:',
    '    parent: eth0',
    '    address: 10.0.0.3/24',
    ...(node2 === undefined ? [] : [`    ssh: ${node2}`]),
    '    namespaces: { ns1: { interface: mac1, address: 10.0.0.13/24 } }',
    '',
  ].join('\n');

type Hosts = Record<string, Record<string, unknown>>;
const hostsOf = (text: string): Hosts =>
  (parse(text) as { all: { children: { macvlan_gen_nodes: { hosts: Hosts } } } }).all.children.macvlan_gen_nodes.hosts;
const inventoryOf = (config: string, hosts: Record<string, string> = {}): string => inventoryText(buildPlan(configOf(config)), META, new Map(Object.entries(hosts)));

describe('validation of ssh: one test per rule, asserting message and line:column', () => {
  it('accepts an address of either family, a DNS name, a port and a user, and port and user in defaults', () => {
    expect(problemsOf(twoNodes({ defaults: '{ port: 2222, user: deploy }', node1: '{ host: 10.255.0.2 }', node2: '{ host: "2001:db8::3", user: root }' }))).toEqual([]);
    expect(problemsOf(twoNodes({ node1: '{ host: node1.mgmt.example.com, port: 22, user: _ops.admin-1 }', node2: '{ host: NODE2 }' }))).toEqual([]);
  });

  const cases: [rule: string, text: string, expected: string][] = [
    ['Jinja in the host', twoNodes({ node1: `{ host: "{{ lookup('pipe', 'id') }}" }` }), `error: nodes.node1.ssh.host (line 6:18): "{{ lookup('pipe', 'id') }}" is not an IP address or DNS name; write an address like 10.0.0.9 or 2001:db8::9, or a name of letters, digits and "-" joined by dots, like node1.mgmt.example.com`],
    ['an ssh option as the host', twoNodes({ node1: '{ host: -oProxyCommand=id }' }), 'error: nodes.node1.ssh.host (line 6:18): "-oProxyCommand=id" is not an IP address or DNS name; write an address like 10.0.0.9 or 2001:db8::9, or a name of letters, digits and "-" joined by dots, like node1.mgmt.example.com'],
    ['a host with a port', twoNodes({ node1: '{ host: "10.0.0.9:2222" }' }), 'error: nodes.node1.ssh.host (line 6:18): "10.0.0.9:2222" is not an IPv6 address; write it like 2001:db8::1 (without a %zone), or a DNS name'],
    ['an IPv4 address out of range', twoNodes({ node1: '{ host: 10.0.0.300 }' }), 'error: nodes.node1.ssh.host (line 6:18): "10.0.0.300" is not an IPv4 address; write four decimal numbers 0-255, like 192.168.1.1, or a DNS name'],
    ['a loopback host', twoNodes({ node1: '{ host: 127.0.0.1 }' }), 'error: nodes.node1.ssh.host (line 6:18): "127.0.0.1" is a loopback address: Ansible would reach the controller itself; give the node\'s address'],
    ['localhost', twoNodes({ node1: '{ host: localhost }' }), 'error: nodes.node1.ssh.host (line 6:18): "localhost" is the controller itself; give the node\'s address or DNS name'],
    ['an IPv6 link-local host', twoNodes({ node1: '{ host: "fe80::2" }' }), 'error: nodes.node1.ssh.host (line 6:18): "fe80::2" is link-local: ssh would need the controller\'s interface (%zone) too; give a global address or a DNS name'],
    ['port 0', twoNodes({ node1: '{ port: 0 }' }), 'error: nodes.node1.ssh.port (line 6:18): number 0 must be at least 1'],
    ['port above 65535', twoNodes({ defaults: '{ port: 65536 }' }), 'error: defaults.ssh.port (line 2:26): number 65536 must be at most 65535'],
    ['port not a whole number', twoNodes({ node1: '{ port: 22.5 }' }), 'error: nodes.node1.ssh.port (line 6:18): number 22.5 must be a whole number'],
    ['a user with shell syntax', twoNodes({ defaults: '{ user: "root; id" }' }), 'error: defaults.ssh.user (line 2:26): "root; id" is not a user name; use 1-32 letters, digits, "_", "." and "-", starting with a letter or "_"'],
    ['a user starting with "-"', twoNodes({ node2: '{ user: -l }' }), 'error: nodes.node2.ssh.user (line 10:18): "-l" is not a user name; use 1-32 letters, digits, "_", "." and "-", starting with a letter or "_"'],
    ['a host in defaults', twoNodes({ defaults: '{ host: 10.255.0.1 }' }), 'error: defaults.ssh.host (line 2:20): unknown key "host"; did you mean "port"?'],
    ['an unknown key', twoNodes({ node1: '{ hostname: a.example.com }' }), 'error: nodes.node1.ssh.hostname (line 6:12): unknown key "hostname"; allowed here: host, port, user'],
    [
      'a node reached where another node is',
      twoNodes({ node2: '{ host: 10.0.0.2 }' }),
      "error: nodes.node2.ssh.host (line 10:18): Ansible would reach node node2 at 10.0.0.2 port 22, as it reaches node node1, and run node2's script on that machine; give each node its own ssh host or port",
    ],
    [
      'two nodes reached at one address and port, the port from defaults',
      twoNodes({ defaults: '{ port: 2222 }', node1: '{ host: "2001:DB8::9" }', node2: '{ host: "2001:db8:0::9" }' }),
      "error: nodes.node2.ssh.host (line 12:18): Ansible would reach node node2 at 2001:db8:0::9 port 2222, as it reaches node node1, and run node2's script on that machine; give each node its own ssh host or port",
    ],
  ];
  it.each(cases)('%s', (_, text, expected) => {
    expect(problemsOf(text)).toEqual([expected]);
  });

  it('lets two nodes share an address on different ports, and port 22 written out equal the default', () => {
    expect(problemsOf(twoNodes({ node1: '{ host: 10.9.0.1, port: 2201 }', node2: '{ host: 10.9.0.1, port: 2202 }' }))).toEqual([]);
    expect(problemsOf(twoNodes({ node1: '{ host: 10.9.0.1, port: 22 }', node2: '{ host: 10.9.0.1 }' }))).toHaveLength(1);
  });
});

describe('the inventory reaches each node', () => {
  it('at its host address, with no port or user, and the header as before, without ssh', () => {
    const text = inventoryOf(twoNodes({}));
    expect(hostsOf(text)).toEqual({ node1: { ansible_host: '10.0.0.2', macvlan_gen_script: 'node1.sh' }, node2: { ansible_host: '10.0.0.3', macvlan_gen_script: 'node2.sh' } });
    expect(text).toContain("ansible_host is the node's host address. To reach the nodes\n");
    expect(text).not.toMatch(/ansible_(port|user)| # /);
  });

  it('at the config\'s ssh.host, port and user, a comment naming where the address came from', () => {
    const text = inventoryOf(twoNodes({ node1: '{ host: node1.mgmt.example.com, port: 2222, user: deploy }' }));
    expect(hostsOf(text)).toEqual({
      node1: { ansible_host: 'node1.mgmt.example.com', ansible_port: 2222, ansible_user: 'deploy', macvlan_gen_script: 'node1.sh' },
      node2: { ansible_host: '10.0.0.3', macvlan_gen_script: 'node2.sh' },
    });
    expect(text).toContain('          ansible_host: node1.mgmt.example.com # nodes.node1.ssh.host\n          ansible_port: 2222\n');
    expect(text).toContain('          ansible_host: 10.0.0.3\n');
    expect(text).toContain("# One host per node, for rollout.yml and teardown.yml. ansible_host is the node's host address where no comment\n# beside it names another source");
  });

  it('with port and user from defaults unless the node sets its own', () => {
    const hosts = hostsOf(inventoryOf(twoNodes({ defaults: '{ port: 2200, user: ops }', node2: '{ port: 2202 }' })));
    expect(hosts['node1']).toEqual({ ansible_host: '10.0.0.2', ansible_port: 2200, ansible_user: 'ops', macvlan_gen_script: 'node1.sh' });
    expect(hosts['node2']).toEqual({ ansible_host: '10.0.0.3', ansible_port: 2202, ansible_user: 'ops', macvlan_gen_script: 'node2.sh' });
  });

  it('at --ansible-host, over the config\'s ssh.host, keeping its port and user', () => {
    const text = inventoryOf(twoNodes({ node1: '{ host: 10.255.0.2, user: deploy }' }), { node1: 'node1.oob.example.com', node2: '2001:db8::3' });
    expect(hostsOf(text)).toEqual({
      node1: { ansible_host: 'node1.oob.example.com', ansible_user: 'deploy', macvlan_gen_script: 'node1.sh' },
      node2: { ansible_host: '2001:db8::3', macvlan_gen_script: 'node2.sh' },
    });
    expect(text).toContain('ansible_host: node1.oob.example.com # --ansible-host\n');
    expect(text).toContain('ansible_host: 2001:db8::3 # --ansible-host\n');
  });

  it('without ssh, every example renders the inventory it always did', () => {
    const text = generateFromText(SEED_TEXT, 'seed.yaml', { ansible: true }).files.find((file) => file.name === 'inventory.yml')?.content;
    expect(text).toContain(
      "# One host per node, for rollout.yml and teardown.yml; ansible_host is the node's host address. To reach the nodes\n# another way (a management address, a user, a jump host)",
    );
    expect(text).not.toMatch(/ansible_(port|user)| # /);
  });
});

describe('--ansible-host', () => {
  const plan = buildPlan(configOf(twoNodes({ node1: '{ host: 10.255.0.2, port: 2222 }' })));
  const problems = (hosts: Record<string, string>): string[] => ansibleHostProblems(plan, new Map(Object.entries(hosts)));

  it('takes a node of the config and an address or DNS name', () => {
    expect(problems({ node1: '10.255.9.2', node2: 'node2.example.com' })).toEqual([]);
  });

  it('refuses a node the config does not have, with the closest name', () => {
    expect(problems({ node3: '10.9.9.9', nodeone: '10.9.9.8' })).toEqual([
      '--ansible-host node3=10.9.9.9: the config has no node "node3"; did you mean "node1"?',
      '--ansible-host nodeone=10.9.9.8: the config has no node "nodeone"; its nodes: node1, node2',
    ]);
  });

  it.each(['$(id)', '{{ x }}', 'a b', '-oProxyCommand=id', '', '127.0.0.1'])('refuses %j as the address', (address) => {
    const found = problems({ node2: address });
    expect(found).toHaveLength(1);
    expect(found[0]?.startsWith(`--ansible-host node2=${address}: "${address}" is `), found[0]).toBe(true);
  });

  it('refuses an address that makes two nodes one, and allows the one a port sets apart', () => {
    expect(problems({ node2: '10.255.0.2' })).toEqual([]);
    expect(problems({ node1: '10.0.0.3' })).toEqual([]);
    const plain = buildPlan(configOf(twoNodes({})));
    expect(ansibleHostProblems(plain, new Map([['node1', '10.0.0.3']]))).toEqual([
      "--ansible-host: Ansible would reach node node2 at 10.0.0.3 port 22, as it reaches node node1, and run node2's script on that machine; give each node its own ssh host or port",
    ]);
  });

  it('is a usage error in generate, with --ansible or without it', () => {
    const config = twoNodes({});
    expect(() => generateFromText(config, 'c.yaml', { ansible: true, ansibleHosts: new Map([['node9', '10.9.9.9']]) })).toThrow(UsageError);
    expect(() => generateFromText(config, 'c.yaml', { ansibleHosts: new Map([['node1', '10.9.9.9']]) })).toThrow('--ansible-host sets an address in the Ansible inventory: give --ansible too');
  });
});
