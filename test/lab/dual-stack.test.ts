// The node script's IPv6 beside IPv4 (issue 16) on an emulated node: addresses that wait for duplicate address
// detection or skip it, default routes through a global or link-local IPv6 gateway, router advertisements refused
// where the config names an IPv6 gateway and kept where it does not, and a duplicate address reported. Root only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { buildLab, configOf, FAST_PROBES, nodeState, normalizeState, shellIn, withoutCountdowns } from '../support/lab.js';

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

/**
 * Starts radvd in the lab's gateway router, advertising itself as a default router and `prefix` for SLAAC every 3-4 s;
 * gives the function that stops it (by its own pid).
 */
function startRadvd(lab: EmulatedLab, prefix: string): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'mvg-radvd-'));
  const pidFile = path.join(dir, 'radvd.pid');
  writeFileSync(path.join(dir, 'radvd.conf'), [
    'interface lan0 {',
    '  AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 60;',
    `  prefix ${prefix} { AdvOnLink on; AdvAutonomous on; };`,
    '};',
    '',
  ].join('\n'));
  execFileSync('ip', ['netns', 'exec', `${lab.prefix}-gw`, 'radvd', '-C', path.join(dir, 'radvd.conf'), '-p', pidFile, '-m', 'none']);
  return () => {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) process.kill(pid);
    rmSync(dir, { recursive: true, force: true });
  };
}

/** Waits up to 10 s for a shell command in a node to print something, and gives what it printed. */
async function untilPrinted(lab: EmulatedLab, node: string, command: string): Promise<string> {
  for (let waited = 0; ; waited++) {
    const printed = await shellIn(lab, node, command);
    if (printed !== '' || waited >= 100) return printed;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    const stopRadvd = startRadvd(lab, '2001:db8:61::/64');
    try {
      // Every namespace has solicited a router when its link came up; radvd answers those and sends every 3-4 s.
      const raRoute = (ns: string) => shellIn(lab, 'node1', `ip -n ${ns} -6 route show default proto ra`);
      expect(await untilPrinted(lab, 'node1', 'ip -n ns4 -6 route show default proto ra')).toContain('default via fe80::');
      expect(await shellIn(lab, 'node1', 'ip -n ns4 -6 addr show dev mac4 scope global dynamic')).toContain('2001:db8:61:0:');
      for (const ns of ['ns1', 'ns2']) {
        expect(await raRoute(ns)).toBe('');
        expect(await shellIn(lab, 'node1', `ip -n ${ns} -6 addr show scope global dynamic`)).toBe('');
      }
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.stdout).toContain('  note: ns4: mac4 keeps taking router advertisements (no IPv6 gateway in the config): SLAAC addresses and a default route, if the LAN has a router that sends them\n');
      expect(plan.stdout).not.toContain('note: ns1:');
    } finally {
      stopRadvd();
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

// node1's host address moves to the shim in both families; 2001:db8:62::abcd is an address of the parent that the config
// does not name (as SLAAC or a hand-added one would be): it stays where it is through migration, rollback and teardown.
const MIGRATION = `version: 1
nodes:
  node1:
    parent: ens160
    address: [10.62.0.2/24, 2001:db8:62::2/64]
    gateway: [10.62.0.1, 2001:db8:62::1]
    hostShim: { interface: mac0 }
    namespaces:
      ns1: { interface: mac1, address: [10.62.0.11/24, 2001:db8:62::11/64], gateway: [10.62.0.1, 2001:db8:62::1] }
  node2:
    parent: ens160
    address: [10.62.0.3/24, 2001:db8:62::3/64]
`;

describe.skipIf(!isRoot)('the host migration in dual stack', () => {
  /** A lab where the hosts' IPv6 addresses and default route are on their parents (replace: the lab may have put them there). */
  async function dualStackLab(): Promise<EmulatedLab> {
    const lab = await buildLab(configOf(MIGRATION));
    labIp(lab, 'gw', 'addr', 'replace', '2001:db8:62::1/64', 'dev', 'lan0', 'nodad');
    await shellIn(lab, 'node1', [
      'ip addr replace 2001:db8:62::2/64 dev ens160 nodad',
      'ip addr replace 2001:db8:62::abcd/64 dev ens160 nodad',
      'ip -6 route replace default via 2001:db8:62::1 dev ens160',
    ].join(' && '));
    await shellIn(lab, 'node2', 'ip addr replace 2001:db8:62::3/64 dev ens160 nodad');
    return lab;
  }
  const ping6 = async (lab: EmulatedLab, node: string, address: string): Promise<boolean> =>
    (await lab.runInNode(node, ['ping', '-6', '-n', '-q', '-c', '1', '-w', '3', address])).status === 0;

  it('moves both addresses and the IPv6 default route onto the shim, announces the IPv6 one, and verify checks it', async () => {
    const lab = await dualStackLab();
    try {
      const pristine = await nodeState(lab, 'node1');
      // The gateway learns where node1's IPv6 address lives now, before the move (a warm neighbour cache).
      execFileSync('ip', ['netns', 'exec', `${lab.prefix}-gw`, 'ping', '-6', '-n', '-q', '-c', '1', '-w', '3', '2001:db8:62::2'], { stdio: 'ignore' });
      const parentMac = (await shellIn(lab, 'node1', 'cat /sys/class/net/ens160/address')).trim();
      expect(labIp(lab, 'gw', '-6', 'neigh', 'show', '2001:db8:62::2')).toContain(`lladdr ${parentMac} `);
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stderr).toBe(0);
      expect(apply.stdout).toContain(' && ip addr del 2001:db8:62::2/64 dev ens160 && ');
      expect(apply.stdout).toContain(' && ip addr add 2001:db8:62::2/64 dev mac0 nodad && ');
      expect(apply.stdout).toContain(' && ip -6 route flush dev ens160 && ');
      expect(apply.stdout).toMatch(/ && ip route add default via 2001:db8:62::1 dev mac0 metric 1024 && /);
      expect(apply.stdout).toContain('10.62.0.1 2001:db8:62::1 answered; the host address stays on mac0');

      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev mac0 scope global')).toContain('inet6 2001:db8:62::2/64 ');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).toContain('2001:db8:62::abcd/64');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).not.toContain('2001:db8:62::2/64');
      expect(await shellIn(lab, 'node1', 'ip -6 route show default')).toMatch(/^default via 2001:db8:62::1 dev mac0 /);
      // The gateway's neighbour entry moved to the shim's MAC with the kernel's unsolicited advertisement.
      const shimMac = (await shellIn(lab, 'node1', 'cat /sys/class/net/mac0/address')).trim();
      expect(labIp(lab, 'gw', '-6', 'neigh', 'show', '2001:db8:62::2')).toContain(`lladdr ${shimMac} `);
      expect(await ping6(lab, 'node2', '2001:db8:62::2')).toBe(true);

      const verify = await lab.runScript('node1', ['verify']);
      expect(verify.status, verify.stdout).toBe(0);
      for (const line of [
        'the host address 2001:db8:62::2/64 is on mac0',
        'default route via 2001:db8:62::1 on mac0',
        'the host reaches 2001:db8:62::1 through mac0',
        'mac0: ipv6/ndisc_notify=1 (announces its IPv6 addresses)',
        'mac0: ipv6/accept_ra=0 (takes no default route from router advertisements)',
        'ens160: ipv6/accept_ra=0 (takes no default route from router advertisements)',
      ]) {
        expect(verify.stdout).toContain(`  ok    ${line}\n`);
      }
      expect((await lab.runScript('node1', ['apply'])).stdout).toContain('Nothing to do');

      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stderr).toBe(0);
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).toMatch(/2001:db8:62::2\/64[\s\S]*2001:db8:62::abcd\/64|2001:db8:62::abcd\/64[\s\S]*2001:db8:62::2\/64/);
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev mac0 scope global')).toBe('');
      expect(await shellIn(lab, 'node1', 'ip -6 route show default')).toMatch(/^default via 2001:db8:62::1 dev ens160 /);
      expect(await ping6(lab, 'node2', '2001:db8:62::2')).toBe(true);

      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(normalizeState(await nodeState(lab, 'node1'))).toBe(normalizeState(pristine));
    } finally {
      lab.remove();
    }
  });

  it('reverts both families when the IPv6 gateway does not answer', async () => {
    const lab = await dualStackLab();
    try {
      const pristine = await nodeState(lab, 'node1');
      labIp(lab, 'gw', 'addr', 'del', '2001:db8:62::1/64', 'dev', 'lan0');
      const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
      expect(apply.status).toBe(5);
      expect(apply.stderr).toContain('host migration reverted: 2001:db8:62::1 did not answer within 3s; the host address is back on ens160');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).toContain('2001:db8:62::2/64');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev mac0 scope global')).toBe('');
      expect(await shellIn(lab, 'node1', 'ip -6 route show default')).toMatch(/^default via 2001:db8:62::1 dev ens160 /);
      expect(await ping6(lab, 'node2', '2001:db8:62::2')).toBe(true);
      // Teardown removes what apply made (ns1, the shim) and leaves the parent as it was.
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(normalizeState(await nodeState(lab, 'node1'))).toBe(normalizeState(pristine));
    } finally {
      lab.remove();
    }
  });

  it('a host whose IPv6 default comes from router advertisements and a config without an IPv6 gateway: the shim learns it', async () => {
    const lab = await buildLab(configOf(MIGRATION.replace('    gateway: [10.62.0.1, 2001:db8:62::1]\n    hostShim', '    gateway: 10.62.0.1\n    hostShim')));
    labIp(lab, 'gw', 'addr', 'replace', '2001:db8:62::1/64', 'dev', 'lan0', 'nodad');
    const stopRadvd = startRadvd(lab, '2001:db8:62::/64');
    try {
      // A host that forwards (Docker, libvirt): it takes router advertisements only with accept_ra=2.
      await shellIn(lab, 'node1', 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding && echo 2 > /proc/sys/net/ipv6/conf/ens160/accept_ra');
      await shellIn(lab, 'node1', 'ip addr replace 2001:db8:62::2/64 dev ens160 nodad');
      expect(await untilPrinted(lab, 'node1', 'ip -6 route show default dev ens160 proto ra')).toContain('default via fe80::');
      const pristine = normalizeState(await nodeState(lab, 'node1'));
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.stdout, plan.stdout + plan.stderr).not.toContain('would refuse');
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stderr).toBe(0);
      expect(apply.stdout).not.toContain('ip route add default via 2001:');
      // The shim solicits routers when it comes up (its accept_ra is left alone); the parent takes none meanwhile.
      expect(await untilPrinted(lab, 'node1', 'ip -6 route show default dev mac0 proto ra')).toContain('default via fe80::');
      expect(await shellIn(lab, 'node1', 'ip -6 route show default dev ens160')).toBe('');
      // Through the shim, from the host address: the shim makes no SLAAC address of its own to send from.
      expect(await shellIn(lab, 'node1', 'ip -6 route get 2001:db8:ffff::1')).toMatch(/ dev mac0 .*src 2001:db8:62::2 /);
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev mac0 scope global dynamic')).toBe('');
      const verify = await lab.runScript('node1', ['verify']);
      expect(verify.status, verify.stdout).toBe(0);
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      // The router's default is back on the parent (restored with what was left of its lifetime), and so is the rest.
      expect(await shellIn(lab, 'node1', 'ip -6 route show default dev ens160')).toContain('default via fe80::');
      expect(await shellIn(lab, 'node1', 'cat /proc/sys/net/ipv6/conf/ens160/accept_ra')).toBe('2\n');
      const after = normalizeState(await nodeState(lab, 'node1'));
      const prefixRoutes = (state: string) => state.split('\n').filter((line) => line.startsWith('2001:db8:62::/64')).join('\n');
      expect(prefixRoutes(after), `prefix routes before:\n${prefixRoutes(pristine)}\nafter:\n${prefixRoutes(after)}\n`).toBe(prefixRoutes(pristine));
      expect(withoutCountdowns(after)).toBe(withoutCountdowns(pristine));
    } finally {
      stopRadvd();
      lab.remove();
    }
  });

  it('a host whose IPv6 default comes from router advertisements and a config with an IPv6 gateway: the configured one replaces it', async () => {
    const lab = await buildLab(configOf(MIGRATION));
    labIp(lab, 'gw', 'addr', 'replace', '2001:db8:62::1/64', 'dev', 'lan0', 'nodad');
    const stopRadvd = startRadvd(lab, '2001:db8:62::/64');
    try {
      await shellIn(lab, 'node1', 'ip addr replace 2001:db8:62::2/64 dev ens160 nodad');
      expect(await untilPrinted(lab, 'node1', 'ip -6 route show default dev ens160 proto ra')).toContain('default via fe80::');
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stdout + apply.stderr).toBe(0);
      expect(await shellIn(lab, 'node1', 'ip -6 route show default')).toMatch(/^default via 2001:db8:62::1 dev mac0 metric 1024 pref medium\n$/);
      // Another advertisement or two later, neither the parent nor the shim has taken the router's default.
      await new Promise((resolve) => setTimeout(resolve, 4500));
      expect(await shellIn(lab, 'node1', 'ip -6 route show default proto ra')).toBe('');
    } finally {
      stopRadvd();
      lab.remove();
    }
  });

  it('refuses, changing nothing, when the IPv6 default route leaves through another NIC or an IPv6 route through the parent would be lost', async () => {
    const lab = await dualStackLab();
    try {
      // A second NIC with the node's IPv6 default route, and a static IPv6 route through the parent the config does not name.
      await shellIn(lab, 'node1', [
        'ip link add eth9 type veth peer name eth9p',
        'ip link set eth9 up && ip link set eth9p up',
        'ip addr add 2001:db8:77::2/64 dev eth9 nodad',
        'ip -6 route replace default via 2001:db8:77::1 dev eth9 metric 100',
        'ip -6 route add 2001:db8:99::/48 via 2001:db8:62::fe dev ens160',
      ].join(' && '));
      const before = await nodeState(lab, 'node1');
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status).toBe(3);
      expect(apply.stderr).toContain(
        "preflight: the node's IPv6 default route is 'default via 2001:db8:77::1 dev eth9 proto boot scope global metric 100 pref medium', not via 2001:db8:62::1 on ens160: the migration would replace it by one via 2001:db8:62::1 on mac0.",
      );
      expect(apply.stderr).toContain('preflight: the host migration would lose this route through ens160: 2001:db8:99::/48 via 2001:db8:62::fe dev ens160 metric 1024 pref medium (');
      expect(await nodeState(lab, 'node1')).toBe(before);
    } finally {
      lab.remove();
    }
  });

  it('refuses, changing nothing, a half-moved host, an IPv6 host address that is not there, a lease, or a namespace address the host has', async () => {
    const lab = await dualStackLab();
    try {
      const refusal = async (setup: string, undo: string, message: string): Promise<void> => {
        await shellIn(lab, 'node1', setup);
        const before = withoutCountdowns(await nodeState(lab, 'node1'));
        const apply = await lab.runScript('node1', ['apply']);
        expect(apply.status, apply.stdout + apply.stderr).toBe(3);
        expect(apply.stderr).toContain(`node1.sh: error: preflight: ${message}`);
        expect(withoutCountdowns(await nodeState(lab, 'node1'))).toBe(before);
        await shellIn(lab, 'node1', undo);
      };
      await refusal('ip addr del 2001:db8:62::2/64 dev ens160', 'ip addr add 2001:db8:62::2/64 dev ens160 nodad',
        'the IPv6 host address 2001:db8:62::2/64 is not on ens160: the host migration would fail halfway and revert.');
      await refusal('ip addr change 2001:db8:62::2/64 dev ens160 valid_lft 3600 preferred_lft 3600', 'ip addr change 2001:db8:62::2/64 dev ens160 valid_lft forever preferred_lft forever',
        'the IPv6 host address 2001:db8:62::2/64 on ens160 has a lifetime (SLAAC or DHCPv6)');
      await refusal('ip addr add 2001:db8:62::11/64 dev ens160 nodad', 'ip addr del 2001:db8:62::11/64 dev ens160',
        'address 2001:db8:62::11/64 of namespace ns1 is already used on this node (ens160)');
      // Moved by a script without IPv6: the IPv4 address on the shim, the IPv6 one still on the parent.
      await shellIn(lab, 'node1', 'ip link add link ens160 name mac0 type macvlan mode bridge && ip link set mac0 up && ip addr del 10.62.0.2/24 dev ens160 && ip addr add 10.62.0.2/24 dev mac0');
      await refusal('true', 'true', 'the host address 10.62.0.2/24 is on mac0 but 2001:db8:62::2/64 is not (moved by a script without IPv6?): run node1.sh rollback, then apply moves both');
    } finally {
      lab.remove();
    }
  });

  it('teardown of a node whose IPv4 host address is back on the parent already still brings the IPv6 one back before the shim goes', async () => {
    const lab = await dualStackLab();
    try {
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      // Someone (a DHCP client, NetworkManager) put the IPv4 address back on the parent.
      await shellIn(lab, 'node1', 'ip addr del 10.62.0.2/24 dev mac0 && ip addr add 10.62.0.2/24 dev ens160');
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stdout + teardown.stderr).toBe(0);
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).toContain('inet6 2001:db8:62::2/64 ');
      expect(await shellIn(lab, 'node1', 'ip -6 route show default')).toMatch(/^default via 2001:db8:62::1 dev ens160 /);
      expect(await shellIn(lab, 'node1', 'cat /proc/sys/net/ipv6/conf/ens160/accept_ra')).toBe('1\n');
    } finally {
      lab.remove();
    }
  });

  it('an IPv4-only host with IPv6 namespaces migrates: its IPv6 default route is not taken for the IPv4 one', async () => {
    const lab = await buildLab(configOf(MIGRATION.replace('    address: [10.62.0.2/24, 2001:db8:62::2/64]\n    gateway: [10.62.0.1, 2001:db8:62::1]', '    address: 10.62.0.2/24\n    gateway: 10.62.0.1')));
    try {
      labIp(lab, 'gw', 'addr', 'replace', '2001:db8:62::1/64', 'dev', 'lan0', 'nodad');
      // The IPv4 default has a worse metric than an IPv6 default the host has from elsewhere.
      await shellIn(lab, 'node1', 'ip route del default via 10.62.0.1 dev ens160 && ip route add default via 10.62.0.1 dev ens160 metric 2000 && ip addr add 2001:db8:62::2/64 dev ens160 nodad && ip -6 route replace default via 2001:db8:62::1 dev ens160');
      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stdout + apply.stderr).toBe(0);
      expect(await shellIn(lab, 'node1', 'ip -4 route show default')).toBe('default via 10.62.0.1 dev mac0 metric 2000 \n');
    } finally {
      lab.remove();
    }
  });

  it('rollback with a saved state that lacks the IPv6 address (saved by a script without IPv6) puts it back from the config', async () => {
    const lab = await dualStackLab();
    try {
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      await shellIn(lab, 'node1', `sed -i '/^address 2001:/d' /run/${lab.prefix}/run/node1/node1.parent-before-migration`);
      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
      expect(rollback.stdout).toContain('  + ip addr add 2001:db8:62::2/64 dev ens160\n');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev ens160 scope global')).toContain('inet6 2001:db8:62::2/64 ');
      expect(await shellIn(lab, 'node1', 'ip -6 addr show dev mac0 scope global')).toBe('');
    } finally {
      lab.remove();
    }
  });
});

describe.skipIf(!isRoot)('a dual-stack node with many namespaces', () => {
  // Ten namespaces: their states are read in background streams (a bash of their own), IPv6 settings included.
  const spaces = Array.from({ length: 10 }, (_, i) => `      ns${i + 1}: { interface: mac${i + 1}, address: [10.63.0.${11 + i}/24, 2001:db8:63::${11 + i}/64], gateway: [10.63.0.1, 2001:db8:63::1], nodad: true }`);
  const MANY = `version: 1
nodes:
  node1:
    parent: ens160
    address: 10.63.0.2/24
    gateway: 10.63.0.1
    namespaces:
${spaces.join('\n')}
`;

  it('reads every namespace\'s IPv6 settings: a second apply changes nothing, and a setting changed by hand is put back alone', async () => {
    const lab = await buildLab(configOf(MANY));
    try {
      const first = await lab.runScript('node1', ['apply']);
      expect(first.status, first.stdout + first.stderr).toBe(0);
      const applied = await nodeState(lab, 'node1');
      const again = await lab.runScript('node1', ['apply']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).not.toMatch(/^ {2}\+ /m);
      for (let i = 1; i <= 10; i++) expect(again.stdout).toContain(`  = ns${i}: mac${i} has accept_ra=0 ndisc_notify=1\n`);
      await shellIn(lab, 'node1', 'ip netns exec ns7 sh -c "echo 1 > /proc/sys/net/ipv6/conf/mac7/accept_ra"');
      const repair = await lab.runScript('node1', ['apply']);
      expect(repair.status, repair.stderr).toBe(0);
      const changed = repair.stdout.match(/^ {2}\+ .*$/gm) ?? [];
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatch(/^ {2}\+ ip netns exec ns7 bash -c 'echo 0 > \/proc\/sys\/net\/ipv6\/conf\/mac7\/accept_ra/);
      expect(await shellIn(lab, 'node1', 'ip netns exec ns7 cat /proc/sys/net/ipv6/conf/mac7/accept_ra')).toBe('0\n');
      expect(await nodeState(lab, 'node1')).toBe(applied);
    } finally {
      lab.remove();
    }
  });
});
