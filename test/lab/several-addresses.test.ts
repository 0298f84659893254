// Several addresses on a namespace (issue 17): apply adds the further ones after the first of each family (which
// stays the source the namespace sends from), waits for duplicate address detection of the IPv6 ones, and a second
// apply changes nothing; verify checks each; preflight refuses one the node already has; neighbours reach each
// address; teardown leaves the node as it was. Root only.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { EXAMPLES } from '../support/cli.js';
import { buildLab, configOf, nodeState, normalizeState, pingFrom, shellIn } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const CONFIG = configOf(readFileSync(path.join(EXAMPLES, 'several-addresses.yaml'), 'utf8'));

describe.skipIf(!isRoot)('several addresses on a namespace, on emulated nodes', () => {
  let lab: EmulatedLab;
  let pristine: string;
  beforeAll(async () => {
    lab = await buildLab(CONFIG);
    pristine = normalizeState(await nodeState(lab, 'node1'));
  });
  afterAll(() => lab?.remove());

  const addressesOf = async (family: '-4' | '-6'): Promise<string[]> =>
    (await shellIn(lab, 'node1', `ip -n ns1 -o ${family} addr show dev mac1 scope global | awk '{print $4}'`)).trim().split('\n');

  it('apply adds every address in the config\'s order, the first of each family stays the source, and each answers', async () => {
    const apply = await lab.runScript('node1', ['apply']);
    expect(apply.status, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toContain('  + ip -n ns1 addr add 192.168.179.20/16 dev mac1\n');
    expect(apply.stdout).toContain('  + ip -n ns1 addr add 2001:db8:179::20/64 dev mac1 preferred_lft 0\n');
    expect((await addressesOf('-4')).sort()).toEqual(['10.20.0.12/24', '192.168.179.12/16', '192.168.179.20/16']);
    expect((await addressesOf('-6')).sort()).toEqual(['2001:db8:179::12/64', '2001:db8:179::20/64']);
    // Added after the first in its subnet, the service address is a secondary one: the first stays primary.
    expect(await shellIn(lab, 'node1', 'ip -n ns1 -o -4 addr show dev mac1 secondary | awk \'{print $4}\'')).toBe('192.168.179.20/16\n');
    // Past duplicate address detection when apply returns.
    expect(await shellIn(lab, 'node1', 'ip -n ns1 -6 addr show dev mac1 tentative')).toBe('');
    expect(await shellIn(lab, 'node1', 'ip -n ns1 route get 192.168.1.1')).toContain(' src 192.168.179.12 ');
    expect(await shellIn(lab, 'node1', 'ip -n ns1 -6 route get 2001:db8:179::1')).toContain(' src 2001:db8:179::12 ');
    expect((await lab.runScript('node2', ['apply'])).status).toBe(0);
    for (const address of ['192.168.179.20', '2001:db8:179::20', '192.168.179.12', '2001:db8:179::12']) {
      expect(await shellIn(lab, 'node2', `ip netns exec ns1 ping -n -q -c 1 -w 3 ${address} >/dev/null && echo reached`), address).toBe('reached\n');
    }
    // The host reaches the service address through its shim too.
    expect(await pingFrom(lab, 'node1', '192.168.179.20')).toBe(true);
  });

  it('a second apply changes nothing; verify checks every address; a missing one fails verify and apply adds it back', async () => {
    const again = await lab.runScript('node1', ['apply']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('  = ns1: mac1 has 10.20.0.12/24\n');
    expect(again.stdout).not.toMatch(/^ {2}\+ /m);
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status, verify.stdout).toBe(0);
    for (const line of ['ns1: mac1 has 192.168.179.20/16', 'ns1: mac1 has 10.20.0.12/24', 'ns1: mac1 has 2001:db8:179::20/64', 'ns1: 2001:db8:179::20/64 passed duplicate address detection (not tentative, not dadfailed)']) {
      expect(verify.stdout).toContain(`  ok    ${line}\n`);
    }
    await shellIn(lab, 'node1', 'ip -n ns1 addr del 10.20.0.12/24 dev mac1');
    const broken = await lab.runScript('node1', ['verify']);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain('  FAIL  ns1: mac1 has 10.20.0.12/24\n');
    const repair = await lab.runScript('node1', ['apply']);
    expect(repair.status).toBe(0);
    expect(repair.stdout.match(/^ {2}\+ .*$/gm)).toEqual(['  + ip -n ns1 addr add 10.20.0.12/24 dev mac1']);
    expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
  });

  it('teardown leaves the node as it was; preflight then refuses a further address that the node already has', async () => {
    expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    expect(normalizeState(await nodeState(lab, 'node1'))).toBe(pristine);
    // With another prefix than the config's: the same address all the same.
    await shellIn(lab, 'node1', 'ip addr add 10.20.0.12/16 dev ens160');
    try {
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stdout).toBe(3);
      expect(apply.stderr).toContain('node1.sh: error: preflight: address 10.20.0.12/24 of namespace ns1 is already used on this node (ens160); two hosts would answer for it');
    } finally {
      await shellIn(lab, 'node1', 'ip addr del 10.20.0.12/16 dev ens160');
    }
    expect(normalizeState(await nodeState(lab, 'node1'))).toBe(pristine);
  });
});
