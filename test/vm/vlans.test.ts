// VLAN parents (issue 17) on real machines: examples/vlans.yaml's scripts on two Debian VMs (see test/support/vm.ts),
// whose kernel has 802.1Q (8021q), unlike the kernel the emulated lab runs on here and in CI. Apply creates
// ens160.50 and ens160.60 and puts the namespaces' macvlans on them, a second apply changes nothing, verify, real
// pings, teardown back to the state before; a VLAN device that was there before is used and kept, a wrong one refused.
//
// The bench's switch is a plain bridge on this machine's kernel: it forwards tagged frames unchanged between the VMs,
// but its gateway router (a namespace here) cannot terminate VLANs. So each VLAN's gateway address lives on node2:
// the test gives it a namespace vlan50 (vlan60) with a bridge-mode macvlan on node2's ens160.50 (ens160.60), as a
// router on that VLAN that routes nothing. The lab's rules (src/lab/expect.ts) predict every pair on that topology:
// VLAN 50 reaches its gateway and itself across the wire, not VLAN 60; the untagged LAN is as without VLANs.
// `npm run docs:record:vm` records what an operator sees into docs/generated/vm/vlans; otherwise the recorded
// transcripts are checked against this run. Needs root, qemu and mmdebstrap; in CI it must run, never skip.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReachability, type Expectation } from '../../src/lab/expect.js';
import { formatStage } from '../../src/lab/report.js';
import type { Endpoint, Topology } from '../../src/lab/topology.js';
import { TRANSCRIPT_STEPS } from '../../src/lab/transcripts.js';
import { renderConfig } from '../../src/pipeline.js';
import { shq } from '../../src/render/shq.js';
import { EXAMPLES, ROOT } from '../support/cli.js';
import { configOf } from '../support/lab.js';
import { ensureImage, runNodeScript, stateOf, transcriptForDocs, VmBench, whyNoVms } from '../support/vm.js';

const whyNot = whyNoVms();
if (process.env['CI'] && whyNot !== undefined) throw new Error(`CI installs what the VM bench needs: it must run there, not be skipped (${whyNot})`);
if (whyNot !== undefined) console.warn(`skipping the VLAN VM test: ${whyNot}`);

const PLAN = renderConfig(configOf(readFileSync(path.join(EXAMPLES, 'vlans.yaml'), 'utf8')), 'vm').plan;
const SCRIPTS = path.join(EXAMPLES, 'out', 'vlans');
const NODES = ['node1', 'node2'] as const;
const VLANS = [50, 60] as const;
/** The node whose VLAN devices carry the VLANs' routers. */
const ROUTERS_ON = 'node2';
const TRANSCRIPTS = path.join(ROOT, 'docs', 'generated', 'vm', 'vlans');

/**
 * The lab's model of the config, as the bench builds it: an untagged switch and gateway (the gateway keeps only its
 * untagged addresses), and each VLAN's gateway (gateway.50) a namespace on node2 with a bridge-mode macvlan on that
 * VLAN's device, forwarding nothing.
 */
function benchTopology(lab: Topology): Topology {
  const endpoints = lab.endpoints.map((endpoint): Endpoint => {
    if (endpoint.kind === 'gateway') {
      const { addressVlans = {}, ...untagged } = endpoint;
      return { ...untagged, addresses: endpoint.addresses.filter((cidr) => !(cidr in addressVlans)) };
    }
    if (endpoint.kind !== 'vlan-gateway') return endpoint;
    return {
      ...endpoint,
      kind: 'namespace',
      node: ROUTERS_ON,
      netns: `vlan${String(endpoint.vlan)}`,
      attachment: { kind: 'macvlan', node: ROUTERS_ON, mode: 'bridge', sourceMacs: [] },
    };
  });
  const { vlans: _trunk, ...untagged } = lab;
  return { ...untagged, endpoints };
}

/** What the rules say of the bench, naming the VLAN routers that forward nothing where the lab's router would. */
function benchExpectations(topology: Topology): Expectation[] {
  const routers = new Map(topology.endpoints.filter((e) => e.id.startsWith('gateway.')).map((e) => [e.ip, e]));
  return expectReachability(topology).map((e) => ({
    ...e,
    reason: e.reason.replace(/ via (\S+), which the lab does not emulate$/, (all, via: string) => {
      const router = routers.get(via);
      return router === undefined ? all : ` via ${via}, whose router here (namespace ${router.netns ?? ''} on ${ROUTERS_ON}) forwards nothing`;
    }),
  }));
}

/** A VM's state split at the script's run files (/run/macvlan-gen), which teardown keeps in part. */
const runFiles = (state: string): string[] => state.split('\n').filter((line) => line.startsWith('/run/macvlan-gen'));
const withoutRunFiles = (state: string): string => state.split('\n').filter((line) => !line.startsWith('/run/macvlan-gen')).join('\n');

const forDocs = (name: string, content: string): void => transcriptForDocs(TRANSCRIPTS, name, content);

describe.skipIf(whyNot !== undefined)('VLAN parents on virtual machines (examples/vlans.yaml: 802.1Q devices on ens160, a trunk between the VMs)', () => {
  let bench: VmBench;
  const before = new Map<string, string>();

  /** Runs node.sh as the operator would; with `transcript`, records (or checks) what they saw for the docs. */
  const run = (node: string, args: readonly string[], transcript?: string) =>
    runNodeScript(bench, node, args, transcript === undefined ? undefined : { dir: TRANSCRIPTS, transcript });

  /** The routers of VLAN 50 and 60 on node2, each in its namespace on the VLAN device apply made; or gone again. */
  const routers = async (action: 'add' | 'del'): Promise<void> => {
    const commands = bench.topology.endpoints
      .filter((e) => e.id.startsWith('gateway.') && e.netns !== undefined)
      .map(({ netns = '', addresses, vlan }) => {
        const [ns, dev] = [shq(netns), `gw${String(vlan)}`];
        return action === 'del'
          ? `ip -n ${ns} link del ${dev} && ip netns del ${ns}`
          : [
              `ip netns add ${ns}`,
              `ip link add link ens160.${String(vlan)} name ${dev} netns ${ns} type macvlan mode bridge`,
              ...addresses.map((cidr) => `ip -n ${ns} addr add ${shq(cidr)} dev ${dev}`),
              `ip -n ${ns} link set lo up`,
              `ip -n ${ns} link set ${dev} up`,
              `ip netns exec ${ns} sysctl -qw net.ipv4.ip_forward=0`,
            ].join(' && ');
      });
    expect(commands).toHaveLength(VLANS.length);
    await bench.shell(ROUTERS_ON, `set -e; ${commands.join('; ')}`);
  };

  beforeAll(async () => {
    const image = await ensureImage();
    if (image.builtSeconds > 0) console.log(`VM image built in ${image.builtSeconds.toFixed(0)} s: ${image.dir}`);
    const started = Date.now();
    bench = await VmBench.start(PLAN, image, { topology: benchTopology });
    console.log(`VMs up (${bench.accel}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const node of NODES) {
      await bench.copy(node, [path.join(SCRIPTS, `${node}.sh`)], '/root');
      before.set(node, await stateOf(bench, node));
    }
  }, 900_000);

  afterAll(async () => {
    await bench?.close();
  });

  it('apply creates ens160.50 and ens160.60 (802.1Q, on ens160, up), notes them, puts each namespace on its VLAN device; a second apply changes nothing', async () => {
    for (const step of TRANSCRIPT_STEPS.filter((s) => s.name !== 'verify' && s.name !== 'teardown')) {
      for (const node of NODES) {
        const { status, stdout, stderr } = await run(node, step.args, `${node}-${step.name}.txt`);
        expect(status, stdout + stderr).toBe(0);
        if (step.name === 'apply') expect(stdout).toContain('  + ip link add link ens160 name ens160.50 type vlan id 50\n');
        if (step.name === 'apply-again') {
          expect(stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
          expect(stdout).toContain('  = ens160.60 exists\n');
          expect(stdout).not.toContain('  + ');
        }
      }
    }
    for (const node of NODES) {
      for (const vlan of VLANS) {
        const shown = await bench.shell(node, `ip -d -o link show dev ens160.${vlan}`);
        expect(shown).toContain(`ens160.${vlan}@ens160: <`);
        expect(shown).toMatch(/<[^>]*\bUP\b[^>]*>/);
        expect(shown).toContain(` vlan protocol 802.1Q id ${vlan} `);
      }
      expect(await bench.shell(node, `cat /run/macvlan-gen/${node}.created`)).toContain('link /ens160.50\nlink /ens160.60\n');
    }
    // Each macvlan sits on its VLAN device (ip names the lower device by index), mgmt on the untagged ens160.
    const index = async (node: string, dev: string): Promise<string> => (await bench.shell(node, `cat /sys/class/net/${dev}/ifindex`)).trim();
    for (const [node, netns, link, lower] of [
      ['node1', 'web', 'mac1', 'ens160.50'], ['node1', 'db', 'mac2', 'ens160.60'], ['node1', 'mgmt', 'mac3', 'ens160'],
      ['node2', 'web', 'mac1', 'ens160.50'], ['node2', 'db', 'mac2', 'ens160.60'],
    ] as const) {
      const shown = await bench.shell(node, `ip -n ${netns} -d -o link show dev ${link}`);
      expect(shown, `${node} ${netns}`).toContain(`${link}@if${await index(node, lower)}: `);
      expect(shown, `${node} ${netns}`).toMatch(/ macvlan {1,2}mode bridge /);
    }
    // The host address moved onto the shim, which stays on the untagged parent.
    expect(await bench.shell('node1', "ip -o -4 addr show to 10.30.0.11 | cut -d' ' -f2")).toBe('mac0\n');
    expect(await bench.shell('node1', 'ip -d -o link show dev mac0')).toContain('mac0@ens160: <');
  }, 900_000);

  it('verify is clean on both nodes once each VLAN has its router (namespaces vlan50 and vlan60 on node2)', async () => {
    await routers('add');
    for (const node of NODES) {
      const { status, stdout } = await run(node, ['verify'], `${node}-verify.txt`);
      expect(stdout).toContain('  ok    ens160.50 is the 802.1Q VLAN 50 on ens160\n');
      expect(stdout).toContain('  ok    ens160.60 is up\n');
      expect(stdout).toContain('  ok    web: mac1 is a bridge-mode macvlan on ens160.50\n');
      expect(stdout).toContain('  ok    web reaches its gateway 10.50.0.1\n');
      expect(stdout).not.toContain('FAIL');
      expect(status, stdout).toBe(0);
    }
  }, 600_000);

  it('real pings do what src/lab/expect.ts says: VLAN 50 reaches itself across the VMs and its gateway, not VLAN 60; the untagged namespace reaches the LAN', async () => {
    const expectations = benchExpectations(bench.topology);
    const results = (await bench.probe(expectations)).map((r) => ({ ...r, asExpected: r.actual === r.reach }));
    const endpoints = bench.topology.endpoints.map(({ id, ip }) => ({ id, ip }));
    const stage = { name: 'vm', description: 'both nodes applied; the VLANs\' routers on node2', endpoints, scripts: [], results, outages: [], seconds: { build: 0, apply: 0, probe: 0 } };
    forDocs('matrix.txt', `${formatStage(stage, 0, 1, undefined, false).slice(1).join('\n')}\n`);
    const pair = (a: string, b: string) => results.find((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
    expect(pair('node1/web', 'node2/web')).toMatchObject({ actual: true, reason: 'different machines meet through the switch, both on VLAN 50' });
    expect(pair('node1/web', 'gateway.50')).toMatchObject({ actual: true, reason: 'different machines meet through the switch, both on VLAN 50' });
    expect(pair('node2/web', 'gateway.50')).toMatchObject({ actual: true, reason: 'bridge-mode siblings on one parent are switched inside the kernel, both on VLAN 50' });
    expect(pair('node1/db', 'gateway.60')).toMatchObject({ actual: true });
    expect(pair('node1/web', 'gateway.60')).toMatchObject({ actual: false, reach: false });
    expect(pair('node1/web', 'node2/db')).toMatchObject({ actual: false, reach: false });
    for (const other of ['gateway', 'node1', 'node2', 'client']) expect(pair('node1/mgmt', other), other).toMatchObject({ actual: true });
    expect(results.filter((r) => !r.asExpected).map((r) => `${r.from} -> ${r.to}: ${r.actual ? 'answered' : 'silent'}, expected ${r.reach ? 'an answer' : 'silence'} (${r.reason})`)).toEqual([]);

    // Not even on-link: VLAN 50's frames never reach VLAN 60, where 10.60.0.1 and node2/db answer.
    await bench.shell('node1', 'ip -n web route add 10.60.0.0/24 dev mac1');
    try {
      const onLink = await bench.ssh('node1', 'ip netns exec web ping -n -q -c 2 -i 0.3 -w 3 10.60.0.1; ip netns exec web ping -n -q -c 2 -i 0.3 -w 3 10.60.0.21');
      expect(onLink.stdout.match(/ 0 received/g), onLink.stdout).toHaveLength(2);
    } finally {
      await bench.shell('node1', 'ip -n web route del 10.60.0.0/24 dev mac1');
    }
  }, 600_000);

  it('teardown removes the VLAN devices apply created and leaves both nodes as they were (but for the script\'s log and lock)', async () => {
    await routers('del');
    for (const node of NODES) {
      const { status, stdout, stderr } = await run(node, ['teardown'], `${node}-teardown.txt`);
      expect(status, stderr).toBe(0);
      for (const vlan of VLANS) expect(stdout).toContain(`  + ip link del dev ens160.${vlan}\n`);
    }
    for (const node of NODES) {
      const after = await stateOf(bench, node);
      const kept = ['', `/${node}.lock`, `/${node}.lock.owner`, `/${node}.log`].map((file) => `/run/macvlan-gen${file}`);
      expect(runFiles(after).filter((file) => !kept.includes(file)), node).toEqual([]);
      expect(withoutRunFiles(after), node).toBe(withoutRunFiles(before.get(node) ?? ''));
    }
  }, 600_000);

  /** Makes ens160.50 on node2 as an admin would, up, and waits until its IPv6 link-local address is no longer tentative. */
  const makeVlan50 = (id: number): Promise<string> =>
    bench.shell('node2', `ip link add link ens160 name ens160.50 type vlan id ${id} && ip link set dev ens160.50 up && ` +
      'for i in $(seq 50); do [ -z "$(ip -6 addr show dev ens160.50 tentative)" ] && exit 0; sleep 0.2; done; exit 1');

  it('an ens160.50 that was there before is used, not noted, and kept by teardown, which removes the ens160.60 apply made', async () => {
    await makeVlan50(50);
    try {
      const had = await stateOf(bench, 'node2');
      const apply = await run('node2', ['apply']);
      expect(apply.status, apply.stderr).toBe(0);
      expect(apply.stdout).toContain('  = ens160.50 exists\n');
      expect(apply.stdout).toContain('  + ip link add link ens160 name ens160.60 type vlan id 60\n');
      expect(await bench.shell('node2', 'cat /run/macvlan-gen/node2.created')).not.toContain('link /ens160.50\n');
      const teardown = await run('node2', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(teardown.stdout).not.toContain('ip link del dev ens160.50');
      expect(teardown.stdout).toContain('  + ip link del dev ens160.60\n');
      expect(withoutRunFiles(await stateOf(bench, 'node2'))).toBe(withoutRunFiles(had));
    } finally {
      await bench.shell('node2', 'ip link del dev ens160.50');
    }
  }, 600_000);

  it('an ens160.50 that is VLAN 51 is refused (exit 3), naming what it is, and nothing changes', async () => {
    await makeVlan50(51);
    try {
      const had = await stateOf(bench, 'node2');
      const apply = await run('node2', ['apply']);
      expect(apply.status).toBe(3);
      expect(apply.stderr).toContain(
        'node2.sh: error: preflight: interface ens160.50 exists on this node but is not the 802.1Q VLAN 50 on ens160 that the config needs (it is 802.1Q VLAN 51 on ens160); remove or rename it, or give these namespaces another vlan\n',
      );
      expect(await stateOf(bench, 'node2')).toBe(had);
    } finally {
      await bench.shell('node2', 'ip link del dev ens160.50');
    }
  }, 600_000);
});
