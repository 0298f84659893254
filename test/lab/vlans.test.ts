// VLAN parents (issue 17) on emulated nodes: apply creates <parent>.<vlan> (802.1Q) where missing and notes it, a
// second apply changes nothing, verify checks the VLAN devices, teardown removes only the ones apply created and no
// longer used, a wrong pre-existing <parent>.<vlan> is refused; and the lab's matrix over a trunked switch. Root only;
// most of it needs a kernel with 802.1Q (CONFIG_VLAN_8021Q and CONFIG_BRIDGE_VLAN_FILTERING), which CI must have.
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
if (process.env['CI'] && isRoot && !vlanKernel) {
  throw new Error('CI must run the VLAN lab tests, not skip them: its kernel needs 802.1Q (CONFIG_VLAN_8021Q, CONFIG_BRIDGE_VLAN_FILTERING)');
}

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

describe.skipIf(!vlanKernel)('VLAN parents on emulated nodes (802.1Q)', () => {
  let lab: EmulatedLab;
  beforeAll(async () => {
    lab = await buildLab(VLANS);
  });
  afterAll(() => lab.remove());

  const link = async (node: string, name: string): Promise<string> => shellIn(lab, node, `ip -o -d link show dev ${name}`);

  it('apply creates each VLAN device on ens160, notes it, brings it up and builds the namespaces on it; a second apply changes nothing; verify passes', async () => {
    const before = withoutCountdowns(normalizeState(await nodeState(lab, 'node1')));
    const apply = await lab.runScript('node1', ['apply', '--no-confirm']);
    expect(apply.status, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('  + ip link add link ens160 name ens160.50 type vlan id 50\n');
    expect(apply.stdout).toContain('  note: the host shim mac0 stays on the untagged ens160: the host reaches web (ens160.50) db (ens160.60) only through a router, not through the shim\n');
    for (const [name, id] of [['ens160.50', 50], ['ens160.60', 60]] as const) {
      const shown = await link('node1', name);
      expect(shown).toContain(`${name}@ens160: <`);
      expect(shown).toMatch(new RegExp(`<[^>]*\\bUP\\b[^>]*>`));
      expect(shown).toContain(` vlan protocol 802.1Q id ${id} `);
    }
    expect(await shellIn(lab, 'node1', 'ip -n web -o -d link show dev mac1')).toMatch(/mac1@if\d+: .* macvlan {1,2}mode bridge /);
    expect(await shellIn(lab, 'node1', `cat ${lab.scriptPath('node1').replace(/scripts\/node1\.sh$/, 'run/node1')}/node1.created`)).toContain('link /ens160.50\nlink /ens160.60\n');

    const again = await lab.runScript('node1', ['apply', '--no-confirm']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
    expect(again.stdout).toContain('  = ens160.50 exists\n');

    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('  ok    ens160.50 is the 802.1Q VLAN 50 on ens160\n');
    expect(verify.stdout).toContain('  ok    ens160.60 is up\n');
    expect(verify.stdout).toContain('  ok    web: mac1 is a bridge-mode macvlan on ens160.50\n');
    expect(verify.stdout).toContain('  ok    web reaches its gateway 10.50.0.1\n');

    const teardown = await lab.runScript('node1', ['teardown']);
    expect(teardown.status, teardown.stderr).toBe(0);
    expect(teardown.stdout).toContain('  + ip link del dev ens160.50\n');
    expect(withoutCountdowns(normalizeState(await nodeState(lab, 'node1')))).toBe(before);
  });

  it('a VLAN device that was there before is used, not noted, and left by teardown; one someone else still uses stays too', async () => {
    await shellIn(lab, 'node2', 'ip link add link ens160 name ens160.50 type vlan id 50');
    const apply = await lab.runScript('node2', ['apply']);
    expect(apply.status, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('  = ens160.50 exists\n');
    expect(apply.stdout).toContain('  + ip link set dev ens160.50 up\n');
    expect(apply.stdout).toContain('  + ip link add link ens160 name ens160.60 type vlan id 60\n');
    // Someone else's macvlan on ens160.60, in a namespace of their own.
    await shellIn(lab, 'node2', 'ip netns add other && ip link add link ens160.60 name theirs netns other type macvlan mode bridge');
    const teardown = await lab.runScript('node2', ['teardown']);
    expect(teardown.status, teardown.stderr).toBe(0);
    expect(teardown.stdout).not.toContain('ip link del dev ens160.50');
    expect(teardown.stdout).toMatch(/ {2}= ens160\.60 stays: apply created it, but theirs in namespace other may sit on it \(ip shows it on @if\d+\)\n/);
    expect(await link('node2', 'ens160.50')).toContain(' vlan protocol 802.1Q id 50 ');
    expect(await shellIn(lab, 'node2', 'ip -n other -o link show dev theirs')).toContain('theirs@if');
    await shellIn(lab, 'node2', 'ip netns del other && ip link del dev ens160.60 && ip link del dev ens160.50');
  });

  it('an ens160.50 that is VLAN 51 is refused (exit 3), naming what it is', async () => {
    await shellIn(lab, 'node2', 'ip link add link ens160 name ens160.50 type vlan id 51');
    const apply = await lab.runScript('node2', ['apply']);
    expect(apply.status).toBe(3);
    expect(apply.stderr).toContain('interface ens160.50 exists on this node but is not the 802.1Q VLAN 50 on ens160 that the config needs (it is 802.1Q VLAN 51 on ens160)');
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
