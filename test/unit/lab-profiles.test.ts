// The lab's pure parts for node profiles, the LAN neighbour that watches and the outages it reports.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { highestFreeHost } from '../../src/ip.js';
import { validateText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { dnsmasqConfig, probeCommand, setupScript, watchCommand } from '../../src/lab/commands.js';
import { reachableFromWatcher } from '../../src/lab/expect.js';
import { answerTimes, isOutage, longestSilence, outageOf } from '../../src/lab/outages.js';
import { profileSysctls, resolveProfiles, type ProfileName } from '../../src/lab/profiles.js';
import { formatStage } from '../../src/lab/report.js';
import type { StageResult } from '../../src/lab/runner.js';
import { labBaseline, labStages } from '../../src/lab/stages.js';
import { buildTopology, stageTopology } from '../../src/lab/topology.js';

const seedConfig = validateText(readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8'), 'seed.yaml').config;
const SEED_NODES = { node1: { gateway: '192.168.1.1' }, node2: { gateway: '192.168.1.1' } };
const seedLab = (profiles: Record<string, ProfileName> = {}) => buildTopology(buildPlan(seedConfig), 'mvlab-test', profiles);

function usageError(values: string[], nodes: Record<string, { gateway?: string }> = SEED_NODES): UsageError {
  try {
    resolveProfiles(values, nodes);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`--profile ${values.join(' ')} was accepted`);
}

describe('lab --profile', () => {
  it('emulates every node as debian when none is given', () => {
    expect(resolveProfiles([], SEED_NODES)).toEqual({ node1: 'debian', node2: 'debian' });
  });

  it('NAME sets every node, NODE=NAME one node and wins over NAME, in any order', () => {
    expect(resolveProfiles(['rhel'], SEED_NODES)).toEqual({ node1: 'rhel', node2: 'rhel' });
    expect(resolveProfiles(['node2=ubuntu', 'rhel'], SEED_NODES)).toEqual({ node1: 'rhel', node2: 'ubuntu' });
    expect(resolveProfiles(['node1=dhcp'], SEED_NODES)).toEqual({ node1: 'dhcp', node2: 'debian' });
  });

  it('an unknown profile is a usage error (exit 2) naming the profiles', () => {
    const error = usageError(['centos']);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('--profile "centos": no profile "centos"; the profiles are debian, rhel, ubuntu, dhcp');
    expect(usageError(['node1=suse']).message).toBe('--profile "node1=suse": no profile "suse"; the profiles are debian, rhel, ubuntu, dhcp');
  });

  it('an unknown node is a usage error (exit 2) naming the nodes', () => {
    const error = usageError(['node3=rhel']);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('--profile "node3=rhel": no node "node3" in the config; its nodes are node1, node2');
  });

  it('two profiles for the same nodes are a usage error', () => {
    expect(usageError(['rhel', 'ubuntu']).message).toBe('--profile "ubuntu": every node already has profile rhel; give one NAME for all nodes and NODE=NAME for the others');
    expect(usageError(['node1=rhel', 'node1=ubuntu']).message).toBe('--profile "node1=ubuntu": node1 already has profile rhel; give each node one profile');
    expect(resolveProfiles(['rhel', 'rhel'], SEED_NODES)).toEqual({ node1: 'rhel', node2: 'rhel' });
  });

  it('dhcp needs the node to have a gateway: the lab serves the lease from it', () => {
    expect(usageError(['dhcp'], { node1: { gateway: '10.0.0.1' }, node2: {} }).message).toBe(
      "profile dhcp needs a gateway (the lab's DHCP server answers from it), and node2 has none; give it a gateway or another profile",
    );
  });
});

describe('profile settings', () => {
  it('rhel: rp_filter=1 and promote_secondaries=1 on all, default and the parent; ubuntu: rp_filter=2; debian and dhcp: none', () => {
    expect(profileSysctls('rhel', 'ens160')).toEqual([
      { path: '/proc/sys/net/ipv4/conf/all/rp_filter', value: 1 },
      { path: '/proc/sys/net/ipv4/conf/default/rp_filter', value: 1 },
      { path: '/proc/sys/net/ipv4/conf/ens160/rp_filter', value: 1 },
      { path: '/proc/sys/net/ipv4/conf/all/promote_secondaries', value: 1 },
      { path: '/proc/sys/net/ipv4/conf/default/promote_secondaries', value: 1 },
      { path: '/proc/sys/net/ipv4/conf/ens160/promote_secondaries', value: 1 },
    ]);
    expect(profileSysctls('ubuntu', 'eth0.50').map(({ path, value }) => `${path}=${value}`)).toEqual([
      '/proc/sys/net/ipv4/conf/all/rp_filter=2',
      '/proc/sys/net/ipv4/conf/default/rp_filter=2',
      '/proc/sys/net/ipv4/conf/eth0.50/rp_filter=2',
    ]);
    expect(profileSysctls('debian', 'ens160')).toEqual([]);
    expect(profileSysctls('dhcp', 'ens160')).toEqual([]);
  });

  it("are written inside the emulated node's network namespace, before its parent gets the host address", () => {
    const script = setupScript(seedLab({ node1: 'rhel' })).split('\n');
    const firstSysctl = script.findIndex((line) => line.includes('/proc/sys/net/ipv4/conf/ens160/rp_filter'));
    const address = script.indexOf('ip -n mvlab-test-node-node1 addr add 192.168.179.9/16 dev ens160');
    expect(script[firstSysctl]).toBe('nsenter --net=/run/netns/mvlab-test-node-node1 bash -c \'printf %s "$1" > "$2"\' sysctl 1 /proc/sys/net/ipv4/conf/ens160/rp_filter');
    expect(firstSysctl).toBeGreaterThan(script.indexOf('ip -n mvlab-test-node-node1 link set ens160 up'));
    expect(address).toBeGreaterThan(firstSysctl);
    expect(script.filter((line) => line.includes('/proc/sys/net/ipv4/conf/')).every((line) => !line.includes('node-node2'))).toBe(true);
  });

  it('dhcp: no static host address; dnsmasq on the gateway and dhclient in the node, every file under the lab dir', () => {
    const script = setupScript(seedLab({ node1: 'dhcp' }));
    expect(script).not.toContain('addr add 192.168.179.9/16');
    expect(script).toContain('ip -n mvlab-test-node-node2 addr add 192.168.179.10/16 dev ens160');
    expect(script).toContain('nsenter --net=/run/netns/mvlab-test-gw dnsmasq --conf-file=/run/mvlab-test/dhcp/dnsmasq.conf');
    expect(script).toContain(
      'nsenter --mount=/run/mvlab-test/node1.mnt --uts=/run/mvlab-test/node1.uts --net=/run/netns/mvlab-test-node-node1 dhclient -4 -nw -v ' +
        '-lf /run/mvlab-test/dhcp/node1.dhclient.leases -pf /run/mvlab-test/dhcp/node1.dhclient.pid ens160',
    );
    expect(script).toContain("grep -q -- 'inet 192.168.179.9/16 .* dynamic'");
    for (const match of script.matchAll(/\bip (?!-n mvlab-test-|netns add mvlab-test-)(\S+)/g)) expect.fail(`ip ${match[1] ?? ''} outside a lab namespace`);
    expect(dnsmasqConfig(seedLab({ node1: 'dhcp' }))).toEqual([
      'port=0',
      'no-hosts',
      'no-resolv',
      'interface=lan0',
      'bind-interfaces',
      'dhcp-authoritative',
      'dhcp-leasefile=/run/mvlab-test/dhcp/dnsmasq.leases',
      'pid-file=/run/mvlab-test/dhcp/dnsmasq.pid',
      'log-facility=/run/mvlab-test/dhcp/dnsmasq.log',
      'dhcp-range=192.168.0.0,static,255.255.0.0,1h',
      'dhcp-option=tag:node1,option:router,192.168.1.1',
    ]);
  });

  it('a debian lab starts no DHCP server', () => {
    expect(setupScript(seedLab())).not.toContain('dnsmasq');
  });
});

describe('the LAN neighbour that watches', () => {
  it('takes the highest free host address of each LAN subnet, and is no endpoint of the matrix', () => {
    const lab = seedLab();
    expect(lab.watcher?.addresses).toEqual(['192.168.255.254/16']);
    expect(lab.endpoints.map((endpoint) => endpoint.id)).toEqual(['node1', 'node1/ns1', 'node1/ns2', 'node2', 'node2/ns1', 'gateway', 'client']);
    expect(setupScript(lab)).toContain('ip -n mvlab-test-watch addr add 192.168.255.254/16 dev eth0');
  });

  it('never takes an address the config uses, and skips subnets with none free', () => {
    expect(highestFreeHost('10.0.0.0/24', new Set(['10.0.0.254', '10.0.0.253']))).toBe('10.0.0.252');
    expect(highestFreeHost('10.0.0.0/30', new Set(['10.0.0.1', '10.0.0.2']))).toBeUndefined();
    expect(highestFreeHost('10.0.0.0/31', new Set())).toBeUndefined();
    const config = validateText(
      'version: 1\nnodes:\n  n1:\n    parent: eth0\n    address: 10.0.0.254/24\n    namespaces:\n      a: { interface: m1, address: 10.0.0.253/24 }\n      b: { interface: m2, address: 10.1.0.2/24 }\n',
      'x.yaml',
    ).config;
    expect(buildTopology(buildPlan(config), 'mvlab-test').watcher?.addresses).toEqual(['10.0.0.252/24', '10.1.0.254/24']);
  });

  it('watches what the LAN reaches before and after each seed stage: the hosts and gateway first, then the namespaces too', () => {
    const lab = seedLab();
    const reachable = (config: typeof seedConfig) => reachableFromWatcher(stageTopology(lab, buildPlan(config))).map((endpoint) => endpoint.id);
    expect(reachable(labBaseline(seedConfig))).toEqual(['node1', 'node2', 'gateway']);
    for (const stage of labStages(seedConfig, true)) expect(reachable(stage.config)).toEqual(['node1', 'node1/ns1', 'node1/ns2', 'node2', 'node2/ns1', 'gateway']);
  });

  it('pings from its own namespace, timestamped and reporting misses, until stopped', () => {
    const watcher = seedLab().watcher;
    if (!watcher) throw new Error('no watcher');
    expect(watchCommand('mvlab-test', watcher, '192.168.179.9')).toEqual([
      'nsenter', '--net=/run/netns/mvlab-test-watch', 'ping', '-n', '-D', '-O', '-i', '0.1', '-w', '3600', '192.168.179.9',
    ]);
  });
});

describe('probing keeps neighbour caches warm', () => {
  it('a source flushes its neighbour cache only when the lab would overflow the kernel table', () => {
    const lab = seedLab();
    const node1 = lab.endpoints[0];
    if (!node1) throw new Error('no endpoint');
    expect(probeCommand('mvlab-test', node1, ['192.168.179.10'], false)[4]).not.toContain('ip neigh flush');
    expect(probeCommand('mvlab-test', node1, ['192.168.179.10'], true)[4]).toContain('ip neigh flush all');
  });
});

describe('outages', () => {
  const output = [
    'PING 192.168.179.9 (192.168.179.9) 56(84) bytes of data.',
    '[100.000000] 64 bytes from 192.168.179.9: icmp_seq=1 ttl=64 time=0.05 ms',
    '[100.200000] no answer yet for icmp_seq=2',
    '[100.100000] 64 bytes from 192.168.179.9: icmp_seq=2 ttl=64 time=0.05 ms',
    '[137.300000] 64 bytes from 192.168.179.9: icmp_seq=3 ttl=64 time=0.05 ms',
  ].join('\n');

  it('reads the time of each answer, not of the misses', () => {
    expect(answerTimes(output)).toEqual([100, 100.1, 137.3]);
  });

  it('the longest silence counts the start before the first answer and the end after the last one', () => {
    expect(longestSilence([100, 100.1, 137.3], 99.9, 137.4)).toBeCloseTo(37.2);
    expect(longestSilence([100, 100.1], 99.9, 110)).toBeCloseTo(9.9);
    expect(longestSilence([], 99.9, 110)).toBeCloseTo(10.1);
  });

  it('over 2 s is an outage; a silence at the end says so', () => {
    const recovered = outageOf({ id: 'node1', ip: '192.168.179.9' }, output, { start: 99.9, end: 137.5 });
    expect(recovered).toMatchObject({ endpoint: 'node1', ip: '192.168.179.9', silentAtEnd: false, answers: 3 });
    expect(recovered.longestSeconds).toBeCloseTo(37.2);
    expect(isOutage(recovered)).toBe(true);
    expect(outageOf({ id: 'node1', ip: '192.168.179.9' }, output, { start: 99.9, end: 140 }).silentAtEnd).toBe(true);
    expect(isOutage(outageOf({ id: 'node1', ip: '192.168.179.9' }, output.split('\n').slice(0, 4).join('\n'), { start: 99.9, end: 101 }))).toBe(false);
  });

  it('the report names each outage over 2 s after the stage matrix; without timings the figures are left out', () => {
    const stage: StageResult = {
      name: 'host-migrated',
      description: 'after moving the host address onto the macvlan shim',
      endpoints: [
        { id: 'node1', ip: '192.168.179.9' },
        { id: 'node2', ip: '192.168.179.10' },
      ],
      scripts: [],
      results: [],
      outages: [
        { endpoint: 'node1', ip: '192.168.179.9', longestSeconds: 37.21, silentAtEnd: false, answers: 100 },
        { endpoint: 'node2', ip: '192.168.179.10', longestSeconds: 0.11, silentAtEnd: false, answers: 400 },
      ],
      seconds: { build: 0, apply: 0, probe: 0 },
    };
    expect(formatStage(stage, 2, 3).slice(-2)).toEqual([
      'LAN neighbour pinging 10 times a second, longest outage: node1 37.2 s, node2 0.1 s',
      '  OUTAGE node1: 37.2 s without an answer during stage host-migrated',
    ]);
    expect(formatStage(stage, 2, 3, undefined, false).slice(-2)).toEqual([
      'LAN neighbour pinging 10 times a second: 1 outage over 2 s among node1, node2',
      '  OUTAGE node1: 37.2 s without an answer during stage host-migrated',
    ]);
    const calm = { ...stage, outages: stage.outages.slice(1) };
    expect(formatStage(calm, 2, 3, undefined, false).at(-1)).toBe('LAN neighbour pinging 10 times a second: no outages over 2 s among node2');
  });
});
