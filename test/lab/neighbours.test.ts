// What the LAN sees when node1's host address changes MAC: a neighbour with node1 in its ARP cache (node2, as the
// operator's jump host would be) must keep reaching it through the migration, a revert, a rollback and teardown,
// on nodes with rp_filter 0 (Debian), 1 (RHEL family) and 2 (Ubuntu); and fresh ARP resolutions must always get the
// MAC of the interface that holds the address. The same for the IPv6 host address of a dual-stack node, with the
// neighbour's neighbour discovery cache warm. Root only; never skipped in CI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { MAX_OUTAGE_SECONDS } from '../../src/lab/outages.js';
import { buildLab, configOf, FAST_PROBES, longestOutage, nodeState, SEED_DUAL_STACK_TEXT, SEED_TEXT, withNode1Shim, shellIn, withoutCountdowns } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const HOST = '192.168.179.9';
const HOST6 = '2001:db8:179::9';
/** A node without iputils arping: PATH starts with an arping that is another program (Thomas Habets' arping). */
const NO_IPUTILS_ARPING = (lab: EmulatedLab): Record<string, string> => ({ PATH: `/run/${lab.prefix}/other-arping:/usr/sbin:/usr/bin:/sbin:/bin` });


async function setRpFilter(lab: EmulatedLab, value: number): Promise<void> {
  await shellIn(lab, 'node1', `for c in all default ens160; do echo ${value} > /proc/sys/net/ipv4/conf/$c/rp_filter; done`);
}

async function arpSettings(lab: EmulatedLab, dev: string): Promise<string> {
  return shellIn(lab, 'node1', `cd /proc/sys/net/ipv4/conf/${dev} && echo "arp_ignore=$(<arp_ignore) arp_announce=$(<arp_announce)"`);
}

/** Ten times in a row node2 forgets node1's MAC and asks the LAN again (ARP, or neighbour discovery for IPv6); how many answers came back. */
async function freshResolutions(lab: EmulatedLab, address = HOST): Promise<number> {
  const out = await shellIn(lab, 'node2', `n=0; for _ in $(seq 10); do ip neigh flush dev ens160; ping -n -q -c 1 -W 1 ${address} >/dev/null 2>&1 && n=$((n + 1)); done; echo $n`);
  return Number(out.trim());
}

const waitForLog = async (lab: EmulatedLab, text: string, seconds: number): Promise<string> => {
  const log = `/run/${lab.prefix}/run/node1/node1.log`;
  return shellIn(lab, 'node1', `for _ in $(seq ${seconds * 10}); do grep -q ${JSON.stringify(text)} ${log} && break; sleep 0.1; done; cat ${log}`);
};

describe.skipIf(!isRoot)('the LAN keeps reaching the node when its host address changes MAC', () => {
  for (const rpFilter of [1, 0, 2]) {
    describe(`rp_filter=${rpFilter}`, () => {
      let lab: EmulatedLab;
      beforeAll(async () => {
        lab = await buildLab(withNode1Shim('      confirmTimeout: 10\n'));
        await setRpFilter(lab, rpFilter);
        await shellIn(lab, 'node1', 'echo 1 > /proc/sys/net/ipv4/conf/ens160/arp_announce');
      });
      afterAll(() => lab.remove());

      it('the migration: no outage over 2 s, fresh resolutions all answered, and a revert without confirm likewise', async () => {
        let apply = { status: -1 as number | null, stdout: '' };
        const migration = await longestOutage(lab, 'node2', HOST, async () => {
          apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
        });
        expect(apply.status).toBe(0);
        expect(migration).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
        expect(await freshResolutions(lab)).toBe(10);
        expect(await arpSettings(lab, 'ens160')).toBe('arp_ignore=1 arp_announce=2\n');

        const revert = await longestOutage(lab, 'node2', HOST, async () => {
          await waitForLog(lab, 'reverted:', 15);
        });
        expect(await waitForLog(lab, 'reverted:', 1)).toContain(`+ announced ${HOST} on ens160 (gratuitous ARP with arping)`);
        expect(revert).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
        expect(await freshResolutions(lab)).toBe(10);
        // The parent's ARP settings are exactly what they were: arp_announce was 1 before apply.
        expect(await arpSettings(lab, 'ens160')).toBe('arp_ignore=0 arp_announce=1\n');
      });
    });
  }

  describe('rollback, teardown and a node without iputils arping (rp_filter=1)', () => {
    let lab: EmulatedLab;
    let pristine: string;
    beforeAll(async () => {
      lab = await buildLab(withNode1Shim('      confirmTimeout: 30\n'));
      await setRpFilter(lab, 1);
      await shellIn(lab, 'node1', `mkdir -p /run/${lab.prefix}/other-arping && printf '#!/bin/sh\\necho "ARPing 2.23, by Thomas Habets"\\nexit 1\\n' > /run/${lab.prefix}/other-arping/arping && chmod +x /run/${lab.prefix}/other-arping/arping`);
      pristine = await nodeState(lab, 'node1');
    });
    afterAll(() => lab.remove());

    it('plan says what will be announced, and how', async () => {
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.stdout).toContain('  echo 1 > /proc/sys/net/ipv4/conf/mac0/arp_notify\n');
      expect(plan.stdout).toContain('  echo 1 > /proc/sys/net/ipv4/conf/ens160/arp_ignore\n');
      expect(plan.stdout).toContain(`  then: announce ${HOST} on mac0 (gratuitous ARP with arping)\n`);
      const without = await lab.runScript('node1', ['plan'], NO_IPUTILS_ARPING(lab));
      expect(without.stdout).toContain(`  then: announce ${HOST} on mac0 (ARP requests for 192.168.1.1 from the host address; no iputils arping here)\n`);
    });

    it('without iputils arping the kernel announces: migration, confirm and rollback each under 2 s', async () => {
      const env = { ...FAST_PROBES, ...NO_IPUTILS_ARPING(lab) };
      const migration = await longestOutage(lab, 'node2', HOST, async () => {
        expect((await lab.runScript('node1', ['apply'], env)).status).toBe(0);
      });
      expect(migration).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
      expect(await waitForLog(lab, 'announced', 1)).toContain(`migration: announced ${HOST} on mac0 (ARP requests for 192.168.1.1 from mac0;`);
      expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
      const verify = await lab.runScript('node1', ['verify']);
      expect(verify.stdout).toContain('  ok    mac0: arp_notify=1 (announces itself when it comes up)\n');
      expect(verify.stdout).toContain('  ok    ens160: arp_ignore=1 (answers ARP only for its own addresses)\n');
      expect(verify.stdout).toContain('  note  rp_filter: all=1 ens160=1 mac0=1 (');

      let rollback = { status: -1 as number | null, stdout: '' };
      const back = await longestOutage(lab, 'node2', HOST, async () => {
        rollback = await lab.runScript('node1', ['rollback'], env);
      });
      expect(rollback.status).toBe(0);
      expect(rollback.stdout).toContain(`  + announced ${HOST} on ens160 (ARP requests for 192.168.1.1 from ens160;`);
      expect(back).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
      expect(await freshResolutions(lab)).toBe(10);
    });

    it('teardown after a kept migration: under 2 s, and the node exactly as before apply', async () => {
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
      expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
      let teardown = { status: -1 as number | null, stdout: '' };
      const outage = await longestOutage(lab, 'node2', HOST, async () => {
        teardown = await lab.runScript('node1', ['teardown']);
      });
      expect(teardown.status).toBe(0);
      expect(teardown.stdout).toContain(`  + announced ${HOST} on ens160 (gratuitous ARP with arping)\n`);
      expect(outage).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
      expect(await freshResolutions(lab)).toBe(10);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
      expect(await arpSettings(lab, 'ens160')).toBe('arp_ignore=0 arp_announce=0\n');
    });
  });
});

describe.skipIf(!isRoot)('the LAN keeps reaching the IPv6 host address of a dual-stack node when it changes MAC', () => {
  let lab: EmulatedLab;
  beforeAll(async () => {
    lab = await buildLab(withNode1Shim('      confirmTimeout: 10\n', SEED_DUAL_STACK_TEXT));
  });
  afterAll(() => lab.remove());

  /** Where node2 sends to node1's IPv6 host address: the MAC its neighbour cache holds, and the MAC of each of node1's interfaces. */
  const cachedMac = async (): Promise<string> => (await shellIn(lab, 'node2', `ip -6 neigh show ${HOST6} dev ens160`)).split(' ')[2] ?? '';
  const macOf = async (dev: string): Promise<string> => (await shellIn(lab, 'node1', `cat /sys/class/net/${dev}/address`)).trim();

  // Each move is announced (an unsolicited neighbour advertisement): node2's cache then holds the MAC of the
  // interface that has the address, whether or not the old one still happens to deliver to the node.
  it('the migration: no outage over 2 s, the address announced on mac0, fresh resolutions all answered', async () => {
    expect(await freshResolutions(lab, HOST6)).toBe(10);
    const migration = await longestOutage(lab, 'node2', HOST6, async () => {
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
    });
    expect(migration).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
    expect(await cachedMac()).toBe(await macOf('mac0'));
    expect(await freshResolutions(lab, HOST6)).toBe(10);
  });

  it('a revert without confirm: no outage over 2 s, the address announced on ens160', async () => {
    const revert = await longestOutage(lab, 'node2', HOST6, async () => {
      await waitForLog(lab, 'reverted:', 15);
    });
    expect(revert).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
    expect(await cachedMac()).toBe(await macOf('ens160'));
    expect(await freshResolutions(lab, HOST6)).toBe(10);
  });

  it('apply again after the revert, confirm, then teardown: each announces the address where it goes, no outage over 2 s', async () => {
    // node2 asks afresh, so it holds the parent's MAC whatever the revert announced.
    expect(await freshResolutions(lab, HOST6)).toBe(10);
    expect(await cachedMac()).toBe(await macOf('ens160'));
    expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
    expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
    expect(await cachedMac()).toBe(await macOf('mac0'));
    const teardown = await longestOutage(lab, 'node2', HOST6, async () => {
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    });
    expect(teardown).toBeLessThanOrEqual(MAX_OUTAGE_SECONDS);
    expect(await cachedMac()).toBe(await macOf('ens160'));
  });
});

describe.skipIf(!isRoot)('who owns the parent: preflight refuses to move an address that someone else manages', () => {
  let lab: EmulatedLab;
  beforeAll(async () => {
    lab = await buildLab(configOf(SEED_TEXT));
  });
  afterAll(() => lab.remove());

  // A lease's lifetimes count down between two reads; nothing else may change.
  const state = async (): Promise<string> => withoutCountdowns(await nodeState(lab, 'node1'));

  async function expectRefusal(message: string, args: string[], env: Record<string, string> = {}): Promise<void> {
    const before = await state();
    const run = await lab.runScript('node1', args, env);
    expect(run.status, run.stdout + run.stderr).toBe(3);
    expect(run.stderr).toContain(message);
    expect(await state()).toBe(before);
  }

  it('a host address with a lease lifetime (dynamic), at apply and at boot; --force overrides', async () => {
    await shellIn(lab, 'node1', `ip addr change ${HOST}/16 dev ens160 valid_lft 3600 preferred_lft 3600`);
    try {
      const lease = `the host address ${HOST}/16 on ens160 is a DHCP lease (valid_lft 3`;
      await expectRefusal(lease, ['apply']);
      await expectRefusal(lease, ['apply', '--boot']);
      const forced = await lab.runScript('node1', ['apply', '--force'], FAST_PROBES);
      expect(forced.status, forced.stderr).toBe(0);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    } finally {
      await shellIn(lab, 'node1', `ip addr change ${HOST}/16 dev ens160 valid_lft forever preferred_lft forever`);
    }
  });

  it('a parent that NetworkManager manages (as nmcli reports it)', async () => {
    const bin = `/run/${lab.prefix}/nmcli-bin`;
    await shellIn(lab, 'node1', `mkdir -p ${bin} && printf '#!/bin/sh\\necho lo:unmanaged\\necho ens160:connected\\n' > ${bin}/nmcli && chmod +x ${bin}/nmcli`);
    await expectRefusal('ens160 is managed by NetworkManager (state connected)', ['apply'], { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` });
    await shellIn(lab, 'node1', `printf '#!/bin/sh\\necho ens160:unmanaged\\n' > ${bin}/nmcli`);
    const handedOver = await lab.runScript('node1', ['plan'], { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` });
    expect(handedOver.status, handedOver.stderr).toBe(0);
  });

  it('a parent that systemd-networkd manages (its state file under /run, in the node\'s own mount namespace)', async () => {
    const index = (await shellIn(lab, 'node1', 'cat /sys/class/net/ens160/ifindex')).trim();
    // The tmpfs hides the host's own state files, and is seen only inside the emulated node.
    await shellIn(lab, 'node1', `mkdir -p /run/systemd/netif && mount -t tmpfs mvlab-netif /run/systemd/netif && mkdir /run/systemd/netif/links && printf 'ADMIN_STATE=configured\\nOPER_STATE=routable\\n' > /run/systemd/netif/links/${index}`);
    try {
      await expectRefusal('ens160 is managed by systemd-networkd (ADMIN_STATE=configured)', ['apply']);
    } finally {
      await shellIn(lab, 'node1', 'umount /run/systemd/netif');
    }
  });
});
