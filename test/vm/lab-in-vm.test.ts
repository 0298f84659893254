// The emulated lab on a kernel that has what VLANs and ipvlan need: this machine's (and CI's) kernel has no 802.1Q,
// no VLAN filtering on a bridge and no ipvlan, so `macvlan-gen lab` stops there (exit 4) for examples/vlans.yaml and
// examples/ipvlan.yaml. Here the real CLI runs inside one Debian VM of the bench (kernel 6.1, see test/support/vm.ts),
// from a read-only disk that holds the built project and this machine's node: `lab` must pass with every pair as
// src/lab/expect.ts predicts, and `lab record` writes what the docs embed to docs/generated/lab/<example> under
// `npm run docs:record:vm` (otherwise the recorded files are checked against this run). The lab's namespaces are
// all inside the VM. Needs root, qemu and mmdebstrap; in CI it must run, never skip.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReachability } from '../../src/lab/expect.js';
import type { LabResult } from '../../src/lab/runner.js';
import { labStages } from '../../src/lab/stages.js';
import { buildTopology, stageTopology } from '../../src/lab/topology.js';
import { buildPlan } from '../../src/plan/plan.js';
import { renderConfig } from '../../src/pipeline.js';
import { shq } from '../../src/render/shq.js';
import { EXAMPLES, ROOT } from '../support/cli.js';
import { configOf } from '../support/lab.js';
import { ensureImage, PROJECT_MOUNT, projectDisk, RECORDING, transcriptForDocs, VmBench, whyNoVms } from '../support/vm.js';

const whyNot = whyNoVms();
if (process.env['CI'] && whyNot !== undefined) throw new Error(`CI installs what the VM bench needs: it must run there, not be skipped (${whyNot})`);
if (whyNot !== undefined) console.warn(`skipping the lab-in-VM test: ${whyNot}`);

/** One machine on the bench's LAN: the lab builds its own LAN in namespaces inside it. */
const LAB_MACHINE = 'labvm';
const BENCH_PLAN = renderConfig(
  configOf(`version: 1
nodes:
  ${LAB_MACHINE}:
    parent: ens160
    address: 192.168.179.9/16
    gateway: 192.168.1.1
    namespaces:
      ns1: { interface: mac1, address: 192.168.179.12/16 }
`),
  'vm',
).plan;
const CLI = `${PROJECT_MOUNT}/node ${PROJECT_MOUNT}/app/dist/cli.js`;
/** The VM's own network, which no lab may touch: its links, addresses, routes and rules, and the namespaces it lists. */
const OWN_NETWORK = 'ip -d link show; ip addr show; ip route show table all; ip rule show; ip netns list';
/** A staged lab under TCG: building, each stage's scripts, the probes and the LAN neighbour's watch. */
const LAB_SECONDS = 1200;

/** Each stage's pairs as the lab's rules predict them, computed here, outside the VM: what the lab in the VM must report. */
function predicted(example: string): { stage: string; pairs: string[] }[] {
  const config = configOf(readFileSync(path.join(EXAMPLES, `${example}.yaml`), 'utf8'));
  const lab = buildTopology(buildPlan(config), 'mvlab-predicted');
  return labStages(config, true).map((stage) => {
    const topology = stageTopology(lab, buildPlan(stage.config));
    return { stage: stage.name, pairs: topology.families.flatMap((family) => expectReachability(topology, family).map((e) => `${e.from} ${e.to} ${e.reach ? 'reach' : 'none'}`)) };
  });
}

describe.skipIf(whyNot !== undefined)('the emulated lab inside a VM whose kernel has 802.1Q, VLAN filtering and ipvlan', () => {
  let bench: VmBench;
  let workDir: string;
  let ownNetwork: string;

  beforeAll(async () => {
    const image = await ensureImage();
    if (image.builtSeconds > 0) console.log(`VM image built in ${image.builtSeconds.toFixed(0)} s: ${image.dir}`);
    let started = Date.now();
    workDir = path.join(process.env['MVG_TEST_TMP'] ?? '/tmp', `lab-in-vm-${process.pid}`);
    const disk = await projectDisk(workDir);
    console.log(`project disk made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    started = Date.now();
    bench = await VmBench.start(BENCH_PLAN, image, { readOnlyDisks: [disk], memoryMiB: 1536 });
    await bench.shell(LAB_MACHINE, `mkdir -p ${PROJECT_MOUNT} && mount -o ro /dev/vdb ${PROJECT_MOUNT} && ${CLI} --version`);
    console.log(`VM up (${bench.accel}) and the project mounted in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    ownNetwork = await bench.shell(LAB_MACHINE, OWN_NETWORK);
  }, 900_000);

  afterAll(async () => {
    await bench?.close();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  describe.each(['vlans', 'ipvlan'])('examples/%s.yaml', (example) => {
    it('lab: exit 0, and every pair of every stage as src/lab/expect.ts predicts', async () => {
      const started = Date.now();
      const run = await bench.ssh(LAB_MACHINE, `${CLI} lab --json ${PROJECT_MOUNT}/app/examples/${example}.yaml`, LAB_SECONDS);
      console.log(`lab ${example}.yaml in the VM: exit ${String(run.status)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      expect(run.status, `${run.stderr}\n${run.stdout}`).toBe(0);
      const lab = JSON.parse(run.stdout) as LabResult;
      const seen = lab.stages.map((stage) => ({
        stage: stage.name,
        pairs: [...stage.results, ...(stage.results6 ?? [])].map((r) => `${r.from} ${r.to} ${r.reach ? 'reach' : 'none'}`),
      }));
      expect(seen).toEqual(predicted(example));
      const surprises = lab.stages.flatMap((stage) => [...stage.results, ...(stage.results6 ?? [])].filter((r) => !r.asExpected).map((r) => `${stage.name}: ${r.from} -> ${r.to} ${r.actual ? 'answered' : 'silent'} (${r.reason})`));
      expect(surprises).toEqual([]);
      expect(lab.ok).toBe(true);
      console.log(`lab ${example}.yaml: ${lab.stages.map((stage) => `${stage.name} ${stage.results.length} pairs`).join(', ')}, all as expected`);
    }, LAB_SECONDS * 1000 + 60_000);

    it(`lab record: the transcripts and staged matrices in docs/generated/lab/${example} are what the lab records today`, async () => {
      const started = Date.now();
      const remote = `/root/record/${example}`;
      const run = await bench.ssh(LAB_MACHINE, `${CLI} lab record ${PROJECT_MOUNT}/app/examples/${example}.yaml --out-dir ${shq(remote)}`, LAB_SECONDS);
      console.log(`lab record ${example}.yaml in the VM: exit ${String(run.status)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      expect(run.status, `${run.stderr}\n${run.stdout}`).toBe(0);
      const local = await bench.fetch(LAB_MACHINE, remote, path.join(workDir, 'record'));
      const recorded = readdirSync(local).sort();
      const docs = path.join(ROOT, 'docs', 'generated', 'lab', example);
      if (RECORDING) rmSync(docs, { recursive: true, force: true });
      for (const name of recorded) transcriptForDocs(docs, name, readFileSync(path.join(local, name), 'utf8'));
      expect(readdirSync(docs).sort()).toEqual(recorded);
    }, LAB_SECONDS * 1000 + 60_000);
  });

  it('left the VM\'s own network as it was (the labs are hermetic on a machine with systemd too)', async () => {
    expect(await bench.shell(LAB_MACHINE, OWN_NETWORK)).toBe(ownNetwork);
  });
});
