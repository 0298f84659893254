import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { buildTopology } from '../../src/lab/topology.js';
import { expectReachability, type Expectation } from '../../src/lab/expect.js';
import { labStages } from '../../src/lab/stages.js';
import { cleanupScript, labPaths, setupScript } from '../../src/lab/commands.js';
import { formatStage } from '../../src/lab/report.js';

const seedConfig = validateText(readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8'), 'seed.yaml').config;
const stages = labStages(seedConfig, true);
const expectationsOf = (index: number): Expectation[] => {
  const stage = stages[index];
  if (!stage) throw new Error(`no stage ${index}`);
  return expectReachability(buildTopology(buildPlan(stage.config), 'mvlab-test'));
};
const between = (list: Expectation[], a: string, b: string) => list.find((e) => (e.from === a && e.to === b) || (e.from === b && e.to === a));

describe('lab stages', () => {
  it('tells the seed story in three steps', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
    expect(stages[0]?.config.nodes['node1']?.hostShim).toBeUndefined();
    expect(stages[0]?.config.nodes['node1']?.namespaces?.['ns1']?.gateway).toBeUndefined();
    expect(stages[1]?.config.nodes['node1']?.namespaces?.['ns1']?.gateway).toBe('192.168.1.1');
    expect(stages[2]?.config).toBe(seedConfig);
  });

  it('is one stage without --stage', () => {
    expect(labStages(seedConfig, false).map((stage) => stage.name)).toEqual(['as-configured']);
  });
});

describe('expected reachability, with reasons', () => {
  it('a macvlan child never reaches its parent', () => {
    expect(between(expectationsOf(0), 'node1/ns1', 'node1')).toEqual({
      from: 'node1', to: 'node1/ns1', reach: false,
      reason: 'node1/ns1 is a macvlan child of the parent that carries the host address, and children never reach their parent',
    });
  });

  it('bridge-mode siblings reach each other, and the host does once it sits on a bridge-mode shim', () => {
    expect(between(expectationsOf(0), 'node1/ns1', 'node1/ns2')?.reach).toBe(true);
    expect(between(expectationsOf(2), 'node1/ns1', 'node1')?.reason).toBe('bridge-mode siblings on one parent are switched inside the kernel');
  });

  it('the outside client needs the namespace default route for the reply', () => {
    expect(between(expectationsOf(0), 'node1/ns1', 'client')?.reason).toBe('node1/ns1 has no route to 10.8.0.241: it has no default route');
    expect(between(expectationsOf(1), 'node1/ns1', 'client')?.reach).toBe(true);
  });

  it('puts the outside client in the seed\'s 10.8.0.0/16, and elsewhere when the config uses that', () => {
    expect(buildTopology(buildPlan(seedConfig), 'mvlab-test').outside.clientAddress).toBe('10.8.0.241/16');
    const clash = validateText('version: 1\nnodes:\n  n1: { parent: eth0, address: 10.8.0.2/16, namespaces: { a: { interface: m1, address: 10.8.0.3/16 } } }\n', 'x.yaml').config;
    expect(buildTopology(buildPlan(clash), 'mvlab-test').outside.subnet).toBe('198.18.0.0/24');
  });
});

describe('lab commands', () => {
  it('never name a root-namespace link: every ip link/addr/route command runs inside a lab namespace', () => {
    const script = setupScript(buildTopology(buildPlan(seedConfig), 'mvlab-test'));
    const ipCommands = script.split('\n').filter((line) => /^ip (link|addr|route|-n)/.test(line));
    expect(ipCommands.length).toBeGreaterThan(10);
    for (const command of ipCommands) expect(command).toMatch(/^ip -n mvlab-test-/);
  });

  it('only accept the lab prefix, so cleanup globs cannot match anything else', () => {
    expect(() => labPaths('mvlab-x; rm -rf /')).toThrow('not a lab prefix');
    expect(() => cleanupScript('/')).toThrow('not a lab prefix');
  });
});

describe('several addresses on a namespace: the lab pings every one', () => {
  const config = validateText(readFileSync(new URL('../../examples/several-addresses.yaml', import.meta.url), 'utf8'), 'several-addresses.yaml').config;
  const topology = buildTopology(buildPlan(config), 'mvlab-test');
  const further = (family: 4 | 6): Expectation[] => expectReachability(topology, family).filter((e) => e.ip !== undefined);

  it('pings each further address from every other endpoint of its family, one row of the report each', () => {
    const ids = topology.endpoints.filter((e) => e.id !== 'node1/ns1').map((e) => e.id);
    expect(further(4).map((e) => `${e.ip} from ${e.from}`)).toEqual([
      ...ids.map((id) => `192.168.179.20 from ${id}`),
      ...ids.map((id) => `10.20.0.12 from ${id}`),
    ]);
    expect(further(6).map((e) => `${e.ip} from ${e.from}`)).toEqual(ids.map((id) => `2001:db8:179::20 from ${id}`));
    expect(further(4).every((e) => e.to === 'node1/ns1')).toBe(true);
  });

  it('judges a further address by its own subnet, not by the first address\'s', () => {
    const at = (ip: string, from: string) => further(familyOfIp(ip)).find((e) => e.ip === ip && e.from === from);
    expect(at('192.168.179.20', 'node2')).toMatchObject({ reach: true });
    expect(at('10.20.0.12', 'node2')).toEqual({
      from: 'node2', to: 'node1/ns1', ip: '10.20.0.12', reach: false,
      reason: 'routed through the gateway 192.168.1.1, then: the gateway has no route to 10.20.0.12',
    });
  });

  it('reports the further addresses in a table of their own under each family\'s matrix, and names one in a surprise', () => {
    const probed = (family: 4 | 6, surprise?: string) =>
      expectReachability(topology, family).map((e) => {
        const actual = `${e.from} ${e.ip ?? ''}` === surprise ? !e.reach : e.reach;
        return { ...e, actual, asExpected: actual === e.reach };
      });
    const lines = formatStage(
      {
        name: 'host-migrated', description: 'after moving the host address onto the macvlan shim',
        endpoints: topology.endpoints.map(({ id, ip, ip6 }) => ({ id, ip, ...(ip6 !== undefined && { ip6 }) })),
        scripts: [], results: probed(4, 'node2 10.20.0.12'), results6: probed(6), outages: [], seconds: { build: 0, apply: 0, probe: 0 },
      },
      2, 3, undefined, false,
    );
    const ids = topology.endpoints.map((e) => e.id);
    const row = (line: string | undefined) => line?.trim().split(/\s+/);
    const at = lines.findIndex((line) => line.startsWith('  IPv4 further addresses '));
    expect(row(lines[at])).toEqual(['IPv4', 'further', 'addresses', ...ids]);
    expect(row(lines[at + 1])).toEqual(['node1/ns1', '192.168.179.20', 'ok', '.', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(row(lines[at + 2])).toEqual(['node1/ns1', '10.20.0.12', '--', '.', '--', 'ok!', '--', '--', '--']);
    expect(lines).toContain('  UNEXPECTED node2 -> node1/ns1 at 10.20.0.12: reach, expected no reach (routed through the gateway 192.168.1.1, then: the gateway has no route to 10.20.0.12)');
    expect(lines.filter((line) => line.startsWith('  IPv6 further addresses '))).toHaveLength(1);
  });

  it('answers from the address in the pinger\'s own connected subnet, as the kernel picks the source', () => {
    const text = `version: 1
nodes:
  node1:
    parent: ens160
    address: 192.168.179.9/16
    namespaces:
      ns1: { interface: mac1, address: [192.168.179.12/16, 10.20.0.12/24] }
  node2:
    parent: ens160
    address: 10.30.0.10/16
    namespaces:
      ns1: { interface: mac1, address: [10.30.0.14/16, 10.20.0.14/24] }
`;
    const shared = buildTopology(buildPlan(validateText(text, 'shared.yaml').config), 'mvlab-test');
    const pings = expectReachability(shared, 4).filter((e) => e.ip !== undefined);
    expect(pings.find((e) => e.from === 'node2/ns1' && e.ip === '10.20.0.12')).toMatchObject({ reach: true });
    expect(pings.find((e) => e.from === 'node1/ns1' && e.ip === '10.20.0.14')).toMatchObject({ reach: true });
    // Not on-link: the first address is the source, and 192.168.179.12 has no way back from node2/ns1.
    expect(pings.find((e) => e.from === 'node1' && e.ip === '10.20.0.14')).toMatchObject({ reach: false });
  });

  it('leaves the pairs\' matrix as it was: one entry per pair, at the address the matrix pings', () => {
    const pairs = expectReachability(topology, 4).filter((e) => e.ip === undefined);
    expect(pairs).toHaveLength((topology.endpoints.length * (topology.endpoints.length - 1)) / 2);
  });
});

const familyOfIp = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);
