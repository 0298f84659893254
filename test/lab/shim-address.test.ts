// A host shim that keeps the host address (issue 17): with hostShim.address, node1 reaches its own namespaces through
// a shim with an address of its own, and its host address never leaves the parent. On nodes with rp_filter 1 (RHEL
// family) and 2 (Ubuntu), in IPv4 and in dual stack: apply, a second apply that changes nothing, verify, host <->
// namespaces, the node's own traffic still leaving the parent from the host address, ARP for the shim's address
// answered by the shim alone, a LAN neighbour whose entry for the host address never changes, and teardown back to
// the state before. Root only; never skipped in CI.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { EXAMPLES } from '../support/cli.js';
import { renderConfig } from '../../src/pipeline.js';
import { buildLab, configOf, nodeState, SEED_DUAL_STACK_TEXT, shellIn, withoutCountdowns } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const HOST = '192.168.179.9';
const SHIM = '192.168.179.250';
const SHIM6 = '2001:db8:179::250';
const NAMESPACES = [
  { netns: 'ns1', ip: '192.168.179.12', ip6: '2001:db8:179::12' },
  { netns: 'ns2', ip: '192.168.179.13', ip6: '2001:db8:179::13' },
];

const IPV4 = configOf(readFileSync(path.join(EXAMPLES, 'shim-keeps-address.yaml'), 'utf8'));
const DUAL_STACK = configOf(SEED_DUAL_STACK_TEXT.replace('      interface: mac0\n', `      interface: mac0\n      address: [${SHIM}/32, ${SHIM6}/128]\n`));

const ping = (lab: EmulatedLab, node: string, address: string, netns?: string): Promise<boolean> =>
  lab
    .runInNode(node, [...(netns === undefined ? [] : ['ip', 'netns', 'exec', netns]), 'ping', '-n', '-q', '-c', '1', '-W', '2', address])
    .then((result) => result.status === 0);

/**
 * node2's neighbour entry for the host address, resolved afresh (its entry flushed, then a ping) ten times a second
 * while `action` runs: the MACs seen.
 */
async function neighbourViewDuring(lab: EmulatedLab, action: () => Promise<void>): Promise<Set<string>> {
  const file = `/run/${lab.prefix}/neighbour-view.txt`;
  const stop = `${file}.stop`;
  const sampling = shellIn(lab, 'node2', `rm -f ${stop} ${file}; until [ -e ${stop} ]; do ip neigh flush to ${HOST} dev ens160; ping -n -q -c 1 -W 1 ${HOST} >/dev/null 2>&1; ip neigh show ${HOST} dev ens160 >>${file}; sleep 0.1; done`);
  try {
    await action();
  } finally {
    await shellIn(lab, 'node2', `touch ${stop}`);
    await sampling;
  }
  const macs = readFileSync(file, 'utf8').match(/lladdr [0-9a-f:]{17}/g) ?? [];
  return new Set(macs.map((entry) => entry.slice('lladdr '.length)));
}

/** The MACs that answer an ARP request for an address, asked from an interface of node2 or of one of node1's namespaces. */
async function arpAnswers(lab: EmulatedLab, address: string, from: { node: string; netns?: string; dev: string }): Promise<string[]> {
  const inside = from.netns === undefined ? [] : ['ip', 'netns', 'exec', from.netns];
  const out = (await lab.runInNode(from.node, [...inside, 'arping', '-c', '3', '-w', '4', '-I', from.dev, address])).stdout;
  return [...new Set((out.match(/\[[0-9a-fA-F:]{17}\]/g) ?? []).map((mac) => mac.slice(1, -1).toLowerCase()))];
}

const settings = (lab: EmulatedLab, dev: string): Promise<string> =>
  shellIn(lab, 'node1', `cd /proc/sys/net/ipv4/conf/${dev} && echo "arp_ignore=$(<arp_ignore) arp_announce=$(<arp_announce) rp_filter=$(<rp_filter)"`);

const cases = [
  { name: 'IPv4 (the example), rp_filter=1', config: IPV4, rpFilter: 1, dualStack: false },
  { name: 'dual stack, rp_filter=2', config: DUAL_STACK, rpFilter: 2, dualStack: true },
];

describe.skipIf(!isRoot)('a host shim with an address of its own on an emulated node', () => {
  for (const { name, config, rpFilter, dualStack } of cases) {
    describe(name, () => {
      let lab: EmulatedLab;
      let pristine: string;
      let parentMac: string;
      beforeAll(async () => {
        lab = await buildLab(config);
        await shellIn(lab, 'node1', `for c in all default ens160; do echo ${rpFilter} > /proc/sys/net/ipv4/conf/$c/rp_filter; done`);
        parentMac = (await shellIn(lab, 'node1', 'cat /sys/class/net/ens160/address')).trim();
        expect(await ping(lab, 'node2', HOST)).toBe(true);
        pristine = withoutCountdowns(await nodeState(lab, 'node1'));
      });
      afterAll(() => lab.remove());

      it('apply, a second apply that changes nothing, verify; host and namespaces reach each other; the LAN still knows the host address at the parent', async () => {
        let verify = { status: -1 as number | null, stdout: '' };
        const seen = await neighbourViewDuring(lab, async () => {
          const apply = await lab.runScript('node1', ['apply']);
          expect(apply.status, apply.stderr).toBe(0);
          expect(apply.stdout).toContain(`  + ip route replace 192.168.179.12 dev mac0 src ${SHIM}\n`);
          // The options of every node's script: taken here too, where no host migration waits for them.
          const again = await lab.runScript('node1', ['apply', '--no-confirm', '--force']);
          expect(again.status, again.stderr).toBe(0);
          expect(again.stdout).not.toContain('  + ');
          expect(again.stdout).toContain('Nothing to do: the node already matches the config');
          verify = await lab.runScript('node1', ['verify']);
          for (const { netns, ip, ip6 } of NAMESPACES) {
            expect(await ping(lab, 'node1', ip)).toBe(true);
            expect(await ping(lab, 'node1', SHIM, netns)).toBe(true);
            if (dualStack) {
              expect(await ping(lab, 'node1', ip6)).toBe(true);
              expect(await ping(lab, 'node1', SHIM6, netns)).toBe(true);
            }
          }
        });
        expect(verify.status, verify.stdout).toBe(0);
        expect(verify.stdout).toContain(`  ok    the host address ${HOST}/16 is on ens160\n`);
        expect(verify.stdout).toContain(`  ok    the host reaches 192.168.179.12 through mac0\n`);
        if (dualStack) expect(verify.stdout).toContain(`  ok    route to 2001:db8:179::13 through mac0 from ${SHIM6}\n`);
        // Sampled all along: node2 never saw the host address at any MAC but the parent's.
        expect([...seen]).toEqual([parentMac]);
        expect(await shellIn(lab, 'node1', `ip -o addr show to ${HOST}`)).toContain(' ens160 ');
      });

      it("the node's own traffic to the LAN leaves from the parent with the host address, and only the shim answers ARP for its address", async () => {
        expect(await shellIn(lab, 'node1', 'ip route get 192.168.1.1')).toMatch(new RegExp(`dev ens160 src ${HOST} `));
        expect(await shellIn(lab, 'node1', 'ip route get 192.168.179.10')).toMatch(new RegExp(`dev ens160 src ${HOST} `));
        expect(await ping(lab, 'node1', '192.168.179.10')).toBe(true);
        const shimMac = (await shellIn(lab, 'node1', 'cat /sys/class/net/mac0/address')).trim();
        const node2 = { node: 'node2', dev: 'ens160' };
        expect(await arpAnswers(lab, SHIM, { node: 'node1', netns: 'ns1', dev: 'mac1' })).toEqual([shimMac]);
        expect(await arpAnswers(lab, HOST, node2)).toEqual([parentMac]);
        // The parent never answers for the shim's address. The shim answers the LAN only under loose rp_filter: with
        // rp_filter=1 the kernel drops an ARP request whose sender it would not route back through the shim.
        expect(await arpAnswers(lab, SHIM, node2)).toEqual(rpFilter === 1 ? [] : [shimMac]);
        expect(await settings(lab, 'mac0')).toBe(`arp_ignore=1 arp_announce=2 rp_filter=${rpFilter}\n`);
      });

      it('confirm and rollback say there is nothing to do; teardown brings the node back to its state before apply', async () => {
        const confirm = await lab.runScript('node1', ['confirm']);
        expect(confirm.status).toBe(0);
        expect(confirm.stdout).toContain(`Nothing to confirm: the host address ${HOST}/16 never leaves ens160`);
        const rollback = await lab.runScript('node1', ['rollback']);
        expect(rollback.status).toBe(0);
        expect(rollback.stdout).toContain('Nothing to roll back');
        const seen = await neighbourViewDuring(lab, async () => {
          const teardown = await lab.runScript('node1', ['teardown']);
          expect(teardown.status, teardown.stderr).toBe(0);
          expect(teardown.stdout).toContain('  + ip link del dev mac0\n');
        });
        expect([...seen]).toEqual([parentMac]);
        expect(withoutCountdowns(await nodeState(lab, 'node1'))).toBe(pristine);
        expect(await settings(lab, 'ens160')).toBe(`arp_ignore=0 arp_announce=0 rp_filter=${rpFilter}\n`);
        expect(await ping(lab, 'node2', HOST)).toBe(true);
      });
    });
  }
});

describe.skipIf(!isRoot)('a shim that keeps the host address, when the config or the node changes under it', () => {
  let lab: EmulatedLab;
  let pristine: string;
  // The same config with another shim address, as the script a regenerated config would give.
  const moved = configOf(readFileSync(path.join(EXAMPLES, 'shim-keeps-address.yaml'), 'utf8').replace(`address: ${SHIM}/32`, 'address: 192.168.179.251/32'));
  let movedScript = '';
  beforeAll(async () => {
    lab = await buildLab(IPV4);
    movedScript = `/run/${lab.prefix}/scripts/node1-moved.sh`;
    const content = renderConfig(moved, 'test').scripts.find((script) => script.node === 'node1')?.content;
    if (content === undefined) throw new Error('no script for node1');
    writeFileSync(movedScript, content, { mode: 0o755 });
    pristine = withoutCountdowns(await nodeState(lab, 'node1'));
  });
  afterAll(() => lab?.remove());

  it('a new shim address replaces the old one and its routes; teardown then leaves the node as before', async () => {
    expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
    const apply = await lab.runInNode('node1', ['bash', movedScript, 'apply']);
    expect(apply.status, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toContain(`  + ip addr del ${SHIM}/32 dev mac0\n`);
    expect(apply.stdout).toContain('  + ip route replace 192.168.179.12 dev mac0 src 192.168.179.251\n');
    expect(await shellIn(lab, 'node1', 'ip -o -4 addr show dev mac0 | awk \'{print $4}\'')).toBe('192.168.179.251/32\n');
    expect(await shellIn(lab, 'node1', 'ip route show dev mac0')).not.toContain(SHIM);
    const verify = await lab.runInNode('node1', ['bash', movedScript, 'verify']);
    expect(verify.status, verify.stdout).toBe(0);
    expect((await lab.runInNode('node1', ['bash', movedScript, 'teardown'])).status).toBe(0);
    expect(withoutCountdowns(await nodeState(lab, 'node1'))).toBe(pristine);
  });

  it('a route to a namespace address through another interface is refused before anything changes', async () => {
    await shellIn(lab, 'node1', 'ip route add 192.168.179.13 via 192.168.1.1 dev ens160');
    try {
      const before = withoutCountdowns(await nodeState(lab, 'node1'));
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stdout).toBe(3);
      expect(apply.stderr).toContain("node1.sh: error: preflight: a route to the namespace address 192.168.179.13 leaves through another interface: '192.168.179.13 via 192.168.1.1 dev ens160 proto boot scope global'; the host reaches its namespaces through mac0: remove that route first");
      expect(withoutCountdowns(await nodeState(lab, 'node1'))).toBe(before);
    } finally {
      await shellIn(lab, 'node1', 'ip route del 192.168.179.13 via 192.168.1.1 dev ens160');
    }
  });
});
