// ipvlan (issue 17) on real machines: examples/ipvlan.yaml's scripts on two Debian VMs (see test/support/vm.ts), whose
// kernel has ipvlan (CONFIG_IPVLAN=m), unlike the kernel the emulated lab runs on here and in CI. node1 runs l2
// ipvlans and moves its host address onto the l2 shim ipv0, node2 runs l3 ipvlans. Apply, a second apply that
// changes nothing, no promisc, verify, real pings against the lab's rules (src/lab/expect.ts), the route an l3
// namespace needs on the router, and teardown back to the state before. `npm run docs:record:vm` records what an
// operator sees into docs/generated/vm/ipvlan; otherwise the recorded transcripts are checked against this run.
// Needs root, qemu and mmdebstrap; in CI it must run, never skip.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReachability, type Expectation } from '../../src/lab/expect.js';
import { formatStage } from '../../src/lab/report.js';
import { TRANSCRIPT_STEPS } from '../../src/lab/transcripts.js';
import { renderConfig } from '../../src/pipeline.js';
import { EXAMPLES, ROOT } from '../support/cli.js';
import { configOf } from '../support/lab.js';
import { ensureImage, runNodeScript, stateOf, transcriptForDocs, VmBench, whyNoVms } from '../support/vm.js';

const whyNot = whyNoVms();
if (process.env['CI'] && whyNot !== undefined) throw new Error(`CI installs what the VM bench needs: it must run there, not be skipped (${whyNot})`);
if (whyNot !== undefined) console.warn(`skipping the ipvlan VM test: ${whyNot}`);

const PLAN = renderConfig(configOf(readFileSync(path.join(EXAMPLES, 'ipvlan.yaml'), 'utf8')), 'vm').plan;
const SCRIPTS = path.join(EXAMPLES, 'out', 'ipvlan');
const NODES = ['node1', 'node2'] as const;
/** node2/ns1 (l3) and its host: the route the gateway needs to reach it, as the docs page says. */
const NODE2_NS1 = '192.168.179.14';
const NODE2 = '192.168.179.10';
const TRANSCRIPTS = path.join(ROOT, 'docs', 'generated', 'vm', 'ipvlan');

const forDocs = (name: string, content: string): void => transcriptForDocs(TRANSCRIPTS, name, content);

describe.skipIf(whyNot !== undefined)('ipvlan on virtual machines (examples/ipvlan.yaml: l2 with a host shim, l3)', () => {
  let bench: VmBench;
  const before = new Map<string, string>();

  /** Runs node.sh as the operator would; with `transcript`, records (or checks) what they saw for the docs. */
  const run = (node: string, args: readonly string[], transcript?: string) =>
    runNodeScript(bench, node, args, transcript === undefined ? undefined : { dir: TRANSCRIPTS, transcript });

  /** Real pings between VMs, namespaces, gateway and client; each pair that did not do what the rules say. */
  const probe = async (expectations: Expectation[], matrix: string, description: string): Promise<string[]> => {
    const results = (await bench.probe(expectations)).map((r) => ({ ...r, asExpected: r.actual === r.reach }));
    const endpoints = bench.topology.endpoints.filter((e) => expectations.some((x) => x.from === e.id || x.to === e.id)).map(({ id, ip }) => ({ id, ip }));
    const stage = { name: 'vm', description, endpoints, scripts: [], results, outages: [], seconds: { build: 0, apply: 0, probe: 0 } };
    forDocs(matrix, `${formatStage(stage, 0, 1, undefined, false).slice(1).join('\n')}\n`);
    return results.filter((r) => !r.asExpected).map((r) => `${r.from} -> ${r.to}: ${r.actual ? 'answered' : 'silent'}, expected ${r.reach ? 'an answer' : 'silence'} (${r.reason})`);
  };

  beforeAll(async () => {
    const image = await ensureImage();
    if (image.builtSeconds > 0) console.log(`VM image built in ${image.builtSeconds.toFixed(0)} s: ${image.dir}`);
    const started = Date.now();
    bench = await VmBench.start(PLAN, image);
    console.log(`VMs up (${bench.accel}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (const node of NODES) {
      await bench.copy(node, [path.join(SCRIPTS, `${node}.sh`)], '/root');
      before.set(node, await stateOf(bench, node));
    }
  }, 900_000);

  afterAll(async () => {
    await bench?.close();
  });

  it('plan, apply (node1: l2 ipvlans and the l2 shim ipv0; node2: l3 ipvlans), no promisc, and a second apply changes nothing', async () => {
    for (const step of TRANSCRIPT_STEPS.filter((s) => s.name !== 'verify' && s.name !== 'teardown')) {
      for (const node of NODES) {
        const { status, output } = await run(node, step.args, `${node}-${step.name}.txt`);
        expect(status, output).toBe(0);
        if (step.name === 'apply-again') {
          expect(output).toContain('Nothing to do: the node already matches the config; nothing was changed.');
          expect(output).not.toContain('  + ');
        }
      }
    }
    for (const node of NODES) {
      const parent = await bench.shell(node, 'ip -d -o link show ens160');
      expect(parent).not.toContain('PROMISC');
      expect(parent).toContain(' promiscuity 0 ');
    }
    const mode = (node: string, netns: string, link: string): Promise<string> =>
      bench.shell(node, `ip ${netns === '' ? '' : `-n ${netns}`} -d -o link show ${link} | grep -o 'ipvlan  mode [a-z0-9]*'`);
    for (const [node, netns, link, want] of [
      ['node1', 'ns1', 'ipv1', 'l2'], ['node1', 'ns2', 'ipv2', 'l2'], ['node1', '', 'ipv0', 'l2'], ['node2', 'ns1', 'ipv1', 'l3'], ['node2', 'ns2', 'ipv2', 'l3'],
    ] as const) {
      expect(await mode(node, netns, link), `${node} ${netns} ${link}`).toBe(`ipvlan  mode ${want}\n`);
    }
    // Every child carries its parent's MAC: that is what the uplink sees.
    const macs = await bench.shell('node1', 'for l in ens160 ipv0; do cat /sys/class/net/$l/address; done; ip netns exec ns1 cat /sys/class/net/ipv1/address');
    expect(new Set(macs.trim().split('\n')).size, macs).toBe(1);
    expect(await bench.shell('node1', "ip -o -4 addr show to 192.168.179.9 | cut -d' ' -f2")).toBe('ipv0\n');
  }, 900_000);

  it('verify: node1 clean; node2 fails only where its l3 namespace needs a route on the router, and is clean once the gateway has it', async () => {
    const node1 = await run('node1', ['verify'], 'node1-verify.txt');
    expect(node1.output).toContain('  ok    ns1: ipv1 is a l2-mode ipvlan on ens160\n');
    expect(node1.output).toContain('  ok    shim ipv0 is a l2-mode ipvlan on ens160\n');
    expect(node1.status, node1.output).toBe(0);
    const node2 = await run('node2', ['verify'], 'node2-verify.txt');
    expect(node2.output).toContain('  ok    ns1: ipv1 is a l3-mode ipvlan on ens160\n');
    expect(node2.output.match(/^ {2}FAIL .*$/gm)).toEqual(['  FAIL  ns1 reaches its gateway 192.168.1.1']);
    expect(node2.status).not.toBe(0);
    await bench.gatewayRoute('add', `${NODE2_NS1}/32`, NODE2);
    try {
      const routed = await run('node2', ['verify'], 'node2-verify-routed.txt');
      expect(routed.status, routed.output).toBe(0);
    } finally {
      await bench.gatewayRoute('del', `${NODE2_NS1}/32`, NODE2);
    }
  }, 600_000);

  it('real pings between the VMs, their namespaces, the gateway and the client do what src/lab/expect.ts says; with the route, node2/ns1 reaches gateway and client', async () => {
    const expectations = expectReachability(bench.topology);
    expect(await probe(expectations, 'matrix.txt', 'both nodes applied')).toEqual([]);
    expect(expectations.filter((e) => e.reach).length).toBeGreaterThan(10);

    const routed = (e: Expectation): boolean => [e.from, e.to].includes('node2/ns1') && ['gateway', 'client'].some((id) => [e.from, e.to].includes(id));
    const withRoute = expectations.map((e) => (routed(e) ? { ...e, reach: true, reason: `the gateway routes ${NODE2_NS1}/32 via ${NODE2}` } : e));
    expect(withRoute.filter(routed)).toHaveLength(2);
    await bench.gatewayRoute('add', `${NODE2_NS1}/32`, NODE2);
    try {
      expect(await probe(withRoute, 'matrix-routed.txt', `the gateway routes ${NODE2_NS1}/32 via ${NODE2}`)).toEqual([]);
    } finally {
      await bench.gatewayRoute('del', `${NODE2_NS1}/32`, NODE2);
    }
  }, 600_000);

  it('teardown leaves both nodes as they were before the first apply (links, addresses, routes, settings, files), but for the script\'s log and lock', async () => {
    for (const node of NODES) {
      const { status, output } = await run(node, ['teardown'], `${node}-teardown.txt`);
      expect(status, output).toBe(0);
    }
    // teardown keeps the script's lock and (on node1, whose host migration the guard logs) its log: only uninstall
    // --teardown forgets them. Nothing else of the run is left, the record of what apply made least of all.
    const runFiles = (state: string): string[] => state.split('\n').filter((line) => line.startsWith('/run/macvlan-gen'));
    const withoutRunFiles = (state: string): string => state.split('\n').filter((line) => !line.startsWith('/run/macvlan-gen')).join('\n');
    for (const node of NODES) {
      const after = await stateOf(bench, node);
      const kept = ['', `/${node}.lock`, `/${node}.lock.owner`, `/${node}.log`].map((file) => `/run/macvlan-gen${file}`);
      expect(runFiles(after).filter((file) => !kept.includes(file)), node).toEqual([]);
      expect(withoutRunFiles(after), node).toBe(withoutRunFiles(before.get(node) ?? ''));
    }
  }, 600_000);
});
