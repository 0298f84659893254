// VLAN parents (issue 17) on emulated nodes, what runs on a kernel without 802.1Q (this machine's and CI's): preflight
// refuses a <parent>.<vlan> that is not a VLAN device, and the lab says what the kernel lacks (or, on a kernel with
// 802.1Q and VLAN filtering on bridges, measures the matrix over a trunked switch). Creating, verifying and removing
// the VLAN devices, and real tagged traffic, are tested on the VM bench: test/vm/vlans.test.ts. Root only.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import type { LabResult } from '../../src/lab/runner.js';
import { CLI, EXAMPLES, tempDir } from '../support/cli.js';
import { buildLab, configOf, nodeState, normalizeState, shellIn, withoutCountdowns } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

/** Can this kernel make an 802.1Q device and a VLAN-filtering bridge? Asked in a namespace of its own, which goes with the process. */
const vlanKernel =
  isRoot &&
  spawnSync('unshare', ['--net', 'bash', '-c', 'ip link add a type veth peer name b && ip link add link a name a.1 type vlan id 1 && ip link add br type bridge vlan_filtering 1'], {
    stdio: 'ignore',
  }).status === 0;

const VLANS_TEXT = readFileSync(path.join(EXAMPLES, 'vlans.yaml'), 'utf8');
const VLANS = configOf(VLANS_TEXT);
/** The same nodes without VLANs: a lab of them builds on any kernel, for the refusals. */
const UNTAGGED = configOf(VLANS_TEXT.replace(/\n +vlan: \d+/g, ''));

describe.skipIf(!isRoot)('VLAN parents: what preflight refuses (any kernel)', () => {
  let lab: EmulatedLab;
  beforeAll(async () => {
    lab = await buildLab(UNTAGGED, VLANS);
  });
  afterAll(() => lab.remove());

  it('an ens160.50 that is not VLAN 50 of ens160 is refused (exit 3), saying what it is, and nothing changes', async () => {
    await shellIn(lab, 'node2', 'ip link add link ens160 name ens160.50 type macvlan mode bridge');
    const before = withoutCountdowns(normalizeState(await nodeState(lab, 'node2')));
    const apply = await lab.runScript('node2', ['apply']);
    expect(apply.status).toBe(3);
    expect(apply.stderr).toContain(
      'node2.sh: error: preflight: interface ens160.50 exists on this node but is not the 802.1Q VLAN 50 on ens160 that the config needs (it is not a VLAN device); remove or rename it, or give these namespaces another vlan\n',
    );
    // ens160.60 is missing too: on a kernel that cannot make it, preflight says so as well.
    const kernelRefusal = 'node2.sh: error: preflight: the kernel cannot create 802.1Q VLAN devices, which the namespaces on VLANs need (ens160.50 ens160.60): no 8021q support? try: modprobe 8021q\n';
    if (vlanKernel) expect(apply.stderr).not.toContain(kernelRefusal);
    else expect(apply.stderr).toContain(kernelRefusal);
    expect(withoutCountdowns(normalizeState(await nodeState(lab, 'node2')))).toBe(before);
    await shellIn(lab, 'node2', 'ip link del dev ens160.50');
  });
});

describe.skipIf(!isRoot)('the lab of examples/vlans.yaml', () => {
  it(vlanKernel ? 'every pair of every stage as the rules predict: VLAN 50 reaches its gateway and itself, not VLAN 60, until the router joins them' : 'on a kernel without 802.1Q: exit 4, naming what the kernel lacks', () => {
    const run = spawnSync(process.execPath, [CLI, 'lab', path.join(EXAMPLES, 'vlans.yaml'), '--json'], { cwd: tempDir('lab'), encoding: 'utf8' });
    if (!vlanKernel) {
      expect(run.status).toBe(4);
      expect(run.stderr).toContain("the kernel cannot make 802.1Q VLAN devices or filter VLANs on a bridge (CONFIG_VLAN_8021Q, CONFIG_BRIDGE_VLAN_FILTERING; try: modprobe 8021q): the lab cannot emulate the config's VLANs");
      return;
    }
    const report = JSON.parse(run.stdout) as LabResult;
    expect(run.status, run.stderr).toBe(0);
    expect(report.ok).toBe(true);
    const pair = (stage: string, a: string, b: string) =>
      report.stages.find((s) => s.name === stage)?.results.find((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
    expect(pair('no-default-routes', 'node1/web', 'node2/web')).toMatchObject({ actual: true, asExpected: true });
    expect(pair('no-default-routes', 'node1/web', 'gateway.50')).toMatchObject({ actual: true, asExpected: true });
    expect(pair('no-default-routes', 'node1/web', 'gateway.60')).toMatchObject({ actual: false, asExpected: true });
    expect(pair('default-routes', 'node1/web', 'node2/db')).toMatchObject({ actual: true, asExpected: true });
    expect(pair('host-migrated', 'node1', 'node1/mgmt')).toMatchObject({ actual: true, asExpected: true });
  });
});
