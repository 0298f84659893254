// The node script's IPv6 beside IPv4 (issue 16) on an emulated node: addresses that wait for duplicate address
// detection or skip it, default routes through a global or link-local IPv6 gateway, router advertisements refused
// where the config names an IPv6 gateway and kept where it does not, and a duplicate address reported. Root only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { buildLab, configOf, nodeState, shellIn } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

// ns1: a global IPv6 gateway; ns2: a link-local one and an IPv6 route; ns3: IPv4 only; ns4: no IPv6 gateway, nodad.
const DUAL_STACK = `version: 1
nodes:
  node1:
    parent: ens160
    address: [10.61.0.2/24, 2001:db8:61::2/64]
    gateway: [10.61.0.1, 2001:db8:61::1]
    namespaces:
      ns1: { interface: mac1, address: [10.61.0.11/24, '2001:DB8:61:0::11/64'], gateway: [10.61.0.1, 2001:db8:61::1] }
      ns2:
        interface: mac2
        address: [10.61.0.12/24, 2001:db8:61::12/64]
        gateway: [10.61.0.1, fe80::1]
        routes: [{ to: 2001:db8:99::/48, via: 2001:db8:61::fe }]
      ns3: { interface: mac3, address: 10.61.0.13/24, gateway: 10.61.0.1 }
      ns4: { interface: mac4, address: [10.61.0.14/24, 2001:db8:61::14/64], nodad: true }
`;

/** ip inside one of the lab's own machines: the gateway router ("gw", LAN side lan0) or the LAN neighbour ("watch", eth0). */
const labIp = (lab: EmulatedLab, role: 'gw' | 'watch', ...args: string[]): string =>
  execFileSync('ip', ['-n', `${lab.prefix}-${role}`, ...args], { encoding: 'utf8' });

describe.skipIf(!isRoot)('the node script in dual stack', () => {
  let lab: EmulatedLab;
  let first: { status: number | null; stdout: string; stderr: string };
  beforeAll(async () => {
    lab = await buildLab(configOf(DUAL_STACK));
    // The gateway router answers at both of the config's IPv6 gateways (replace: the lab may have given it them).
    labIp(lab, 'gw', 'addr', 'replace', '2001:db8:61::1/64', 'dev', 'lan0', 'nodad');
    labIp(lab, 'gw', 'addr', 'replace', 'fe80::1/64', 'dev', 'lan0', 'nodad');
    first = await lab.runScript('node1', ['apply']);
  });
  afterAll(() => lab.remove());

  it('apply adds each family, waits for duplicate address detection except where nodad says not to, and verify checks inet6', async () => {
    expect(first.status, first.stderr).toBe(0);
    const added = first.stdout.match(/^ {2}\+ .*$/gm) ?? [];
    expect(added).toEqual(expect.arrayContaining([
      '  + ip -n ns1 addr add 2001:db8:61::11/64 dev mac1',
      '  + ip -n ns4 addr add 2001:db8:61::14/64 dev mac4 nodad',
      "  + ip netns exec ns1 bash -c 'echo 0 > /proc/sys/net/ipv6/conf/mac1/accept_ra; echo 1 > /proc/sys/net/ipv6/conf/mac1/ndisc_notify'",
      "  + ip netns exec ns4 bash -c 'echo 1 > /proc/sys/net/ipv6/conf/mac4/ndisc_notify'",
      '  + ip -n ns1 route add default via 2001:db8:61::1 dev mac1',
      '  + ip -n ns2 route add default via fe80::1 dev mac2',
      '  + ip -n ns2 route add 2001:db8:99::/48 via 2001:db8:61::fe dev mac2',
    ]));
    // ns3 has no IPv6 address: nothing of IPv6 to set there.
    expect(added.filter((line) => line.includes('/proc/sys/net/ipv6'))).toHaveLength(3);
    expect(first.stdout).toContain('Waiting up to 10s for duplicate address detection of 2 IPv6 address(es)\n');
    expect(first.stdout).toContain('  = every IPv6 address passed duplicate address detection\n');

    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status, verify.stdout).toBe(0);
    for (const line of [
      'ns1: mac1 has 2001:db8:61::11/64',
      'ns1: 2001:db8:61::11/64 passed duplicate address detection (not tentative, not dadfailed)',
      'ns1: mac1 ignores router advertisements (accept_ra=0)',
      'ns4: mac4 announces its addresses (ndisc_notify=1)',
      'ns2: default route via fe80::1',
      'ns2: route to 2001:db8:99::/48 via 2001:db8:61::fe',
      'ns1 reaches its gateway 2001:db8:61::1',
      'ns2 reaches its gateway fe80::1',
    ]) {
      expect(verify.stdout).toContain(`  ok    ${line}\n`);
    }
  });

  it('a second apply finds both families in place and changes nothing', async () => {
    const before = await nodeState(lab, 'node1');
    const again = await lab.runScript('node1', ['apply']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^ {2}\+ /m);
    expect(again.stdout).toContain('  = ns1: mac1 has accept_ra=0 ndisc_notify=1\n');
    expect(again.stdout).toContain('  = ns2: route default via fe80::1 dev mac2\n');
    expect(again.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
    expect(await nodeState(lab, 'node1')).toBe(before);
  });

  it('router advertisements: a namespace with an IPv6 gateway takes none, one without keeps SLAAC, and plan says which', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mvg-radvd-'));
    const pidFile = path.join(dir, 'radvd.pid');
    writeFileSync(path.join(dir, 'radvd.conf'), [
      'interface lan0 {',
      '  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 60;',
      '  prefix 2001:db8:61::/64 { AdvOnLink on; AdvAutonomous on; };',
      '};',
      '',
    ].join('\n'));
    execFileSync('ip', ['netns', 'exec', `${lab.prefix}-gw`, 'radvd', '-C', path.join(dir, 'radvd.conf'), '-p', pidFile, '-m', 'none']);
    try {
      // Every namespace has solicited a router when its link came up; radvd answers those and sends every 3-4 s.
      const raRoute = (ns: string) => shellIn(lab, 'node1', `ip -n ${ns} -6 route show default proto ra`);
      for (let waited = 0; (await raRoute('ns4')) === '' && waited < 100; waited++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await raRoute('ns4')).toContain('default via fe80::');
      expect(await shellIn(lab, 'node1', 'ip -n ns4 -6 addr show dev mac4 scope global dynamic')).toContain('2001:db8:61:0:');
      for (const ns of ['ns1', 'ns2']) {
        expect(await raRoute(ns)).toBe('');
        expect(await shellIn(lab, 'node1', `ip -n ${ns} -6 addr show scope global dynamic`)).toBe('');
      }
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.stdout).toContain('  note: ns4: mac4 keeps taking router advertisements (no IPv6 gateway in the config): SLAAC addresses and a default route, if the LAN has a router that sends them\n');
      expect(plan.stdout).not.toContain('note: ns1:');
    } finally {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0) process.kill(pid);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a duplicate address on the LAN fails apply with the address and the way out, and verify reports it', async () => {
    expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    // Another machine on the LAN holds ns1's IPv6 address.
    labIp(lab, 'watch', 'addr', 'add', '2001:db8:61::11/64', 'dev', 'eth0', 'nodad');
    try {
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status).toBe(1);
      expect(apply.stderr).toContain(
        'node1.sh: error: ns1: 2001:db8:61::11/64 on mac1 failed duplicate address detection: another machine on the LAN has this address. Give one of them another address; remove this dead one with: ip -n ns1 addr del 2001:db8:61::11/64 dev mac1\n',
      );
      const verify = await lab.runScript('node1', ['verify']);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toContain('  FAIL  ns1: 2001:db8:61::11/64 passed duplicate address detection (not tentative, not dadfailed)\n');
      // Applying again does not pass over the dead address (and the gateway meanwhile learns the other machine's MAC).
      expect((await lab.runScript('node1', ['apply'])).status).toBe(1);
      expect(labIp(lab, 'gw', '-6', 'neigh', 'show', '2001:db8:61::11')).not.toBe('');
    } finally {
      labIp(lab, 'watch', 'addr', 'del', '2001:db8:61::11/64', 'dev', 'eth0');
    }
    await shellIn(lab, 'node1', 'ip -n ns1 addr del 2001:db8:61::11/64 dev mac1');
    const repair = await lab.runScript('node1', ['apply']);
    expect(repair.status, repair.stderr).toBe(0);
    expect(repair.stdout).toContain('  + ip -n ns1 addr add 2001:db8:61::11/64 dev mac1\n');
    // The gateway's entry for the address still named the other machine: ns1's unsolicited neighbour advertisement
    // (ndisc_notify) corrected it, or the gateway would answer there until its neighbour probes failed (~8 s).
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status, verify.stdout).toBe(0);
  });
});
