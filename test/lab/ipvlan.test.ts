// ipvlan (issue 17) on emulated nodes: the example's scripts run unmodified, the lab's matrix matches the rules of
// src/lab/expect.ts in every stage, a second apply changes nothing, verify passes where the LAN can answer (node1,
// l2) and fails only at the gateway probe of an l3 namespace, whose router has no route to it. Needs root and a kernel
// with ipvlan (CONFIG_IPVLAN): a kernel without it is named in the skip; CI must have both.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { runLab } from '../../src/lab/runner.js';
import { EXAMPLES } from '../support/cli.js';
import { buildLab, configOf } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const IPVLAN = configOf(readFileSync(path.join(EXAMPLES, 'ipvlan.yaml'), 'utf8'));
const NO_IPVLAN = 'this kernel cannot make ipvlan interfaces (built without CONFIG_IPVLAN?): "ip link add ... type ipvlan" fails';

describe.skipIf(!isRoot)('ipvlan on emulated nodes (examples/ipvlan.yaml)', () => {
  let lab: EmulatedLab;
  let kernelHasIpvlan = false;
  beforeAll(async () => {
    lab = await buildLab(IPVLAN);
    const made = await lab.runInNode('node1', ['bash', '-c', 'ip link add link ens160 name mvgipvl type ipvlan mode l2 && ip link del mvgipvl']);
    kernelHasIpvlan = made.status === 0;
    if (process.env['CI'] && !kernelHasIpvlan) throw new Error(`CI must run the ipvlan lab test: ${NO_IPVLAN}`);
  });
  afterAll(() => lab?.remove());

  const needIpvlan = (context: TestContext): void => {
    if (!kernelHasIpvlan) context.skip(NO_IPVLAN);
  };

  it('apply makes l2 and l3 ipvlans without promisc; a second apply changes nothing; verify fails only where no router answers', async (context) => {
    needIpvlan(context);
    for (const node of ['node1', 'node2']) expect((await lab.runScript(node, ['apply'])).status).toBe(0);
    for (const node of ['node1', 'node2']) {
      const again = await lab.runScript(node, ['apply']);
      expect(again.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
      expect(again.stdout).not.toContain('  + ');
    }
    const links = await lab.runInNode('node2', ['bash', '-c', 'ip -d -o link show ens160; ip -n ns1 -d -o link show ipv1']);
    expect(links.stdout).not.toContain('PROMISC');
    expect(links.stdout).toContain('ipvlan  mode l3 ');
    const node1 = await lab.runScript('node1', ['verify']);
    expect(node1.stdout).toContain('  ok    ns1: ipv1 is a l2-mode ipvlan on ens160\n');
    expect(node1.status).toBe(0);
    const node2 = await lab.runScript('node2', ['verify']);
    expect(node2.stdout.match(/^ {2}FAIL .*$/gm)).toEqual(['  FAIL  ns1 reaches its gateway 192.168.1.1']);
  });

  it('the staged lab matches the expectations in every stage', async (context) => {
    needIpvlan(context);
    const result = await runLab(IPVLAN, { staged: true, keep: false, profiles: {}, overrides: [], configSha256: 'test', progress: () => undefined });
    const unexpected = result.stages.flatMap((stage) => stage.results.filter((r) => !r.asExpected).map((r) => `${stage.name}: ${r.from} <-> ${r.to}`));
    expect(unexpected).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
