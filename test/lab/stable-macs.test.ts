// Stable MACs (issue 17): with defaults.mac auto every macvlan of a node, the host shim too, comes back with the same
// MAC after teardown and apply, so neighbours, DHCP reservations and allow-lists keep matching. Root only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { deriveMac } from '../../src/config/mac.js';
import { buildLab, configOf, SEED_TEXT, shellIn } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

/** The seed (stable MACs by default), with ns2 opting out. */
if (!SEED_TEXT.includes('\n  mac: auto ')) throw new Error('the seed example no longer asks for stable MACs');
const STABLE = configOf(SEED_TEXT.replace('        interface: mac2\n', '        interface: mac2\n        mac: random\n'));

describe.skipIf(!isRoot)('stable MACs on an emulated node', () => {
  let lab: EmulatedLab;
  beforeAll(async () => {
    lab = await buildLab(STABLE);
  });
  afterAll(() => lab.remove());

  const macs = async (): Promise<string[]> =>
    (await shellIn(lab, 'node1', 'cat /sys/class/net/mac0/address && ip netns exec ns1 cat /sys/class/net/mac1/address && ip netns exec ns2 cat /sys/class/net/mac2/address'))
      .trim()
      .split('\n');

  it('the shim and ns1 get their derived MACs back after teardown and apply; ns2 (mac: random) gets a new one', async () => {
    expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
    const first = await macs();
    expect(first.slice(0, 2)).toEqual([deriveMac('node1', 'hostShim/mac0'), deriveMac('node1', 'netns/ns1')]);
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.stdout).toContain(`  ok    ns1: mac1 has MAC ${deriveMac('node1', 'netns/ns1')}\n`);
    expect(verify.stdout).toContain(`  ok    shim mac0 has MAC ${deriveMac('node1', 'hostShim/mac0')}\n`);

    expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
    const second = await macs();
    expect(second.slice(0, 2)).toEqual(first.slice(0, 2));
    expect(second[2]).not.toBe(first[2]);
  });
});
