import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, runScript, tempDir } from '../support/cli.js';
import { deriveMac } from '../../src/config/mac.js';

const NODE1 = path.join(EXAMPLES, 'out', 'seed', 'node1.sh');
const NODE2 = path.join(EXAMPLES, 'out', 'seed', 'node2.sh');

/** The commands `plan` prints, without step headers or notes. */
const plannedCommands = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('  ') && !line.startsWith('  then:'))
    .map((line) => line.trim());

describe('the generated node script', () => {
  it('plan prints the seed experiment commands for node1, in order, and changes nothing', () => {
    const run = runScript(NODE1, ['plan']);
    // iproute2 here takes -n, so commands inside a namespace run as `ip -n NS ...` (older ones: `ip netns exec NS ip ...`).
    // The seed asks for stable MACs (defaults.mac: auto): each macvlan gets the one derived from its node and name.
    const mac = (owner: string): string => deriveMac('node1', owner);
    expect(plannedCommands(run.stdout)).toEqual([
      'ip link set dev ens160 promisc on',
      'ip netns add ns1',
      'ip netns add ns2',
      `ip link add link ens160 name mac1 netns ns1 address ${mac('netns/ns1')} type macvlan mode bridge`,
      `ip link add link ens160 name mac2 netns ns2 address ${mac('netns/ns2')} type macvlan mode bridge`,
      'ip -n ns1 addr add 192.168.179.12/16 dev mac1',
      'ip -n ns2 addr add 192.168.179.13/16 dev mac2',
      'ip -n ns1 link set dev lo up',
      'ip -n ns1 link set dev mac1 up',
      'ip -n ns2 link set dev lo up',
      'ip -n ns2 link set dev mac2 up',
      'ip -n ns1 route add default via 192.168.1.1 dev mac1',
      `ip link add link ens160 name mac0 address ${mac('hostShim/mac0')} type macvlan mode bridge`,
      'echo 1 > /proc/sys/net/ipv4/conf/mac0/arp_ignore',
      'echo 2 > /proc/sys/net/ipv4/conf/mac0/arp_announce',
      'echo 1 > /proc/sys/net/ipv4/conf/mac0/arp_notify',
      'echo 1 > /proc/sys/net/ipv4/conf/ens160/arp_ignore',
      'echo 2 > /proc/sys/net/ipv4/conf/ens160/arp_announce',
      'ip addr del 192.168.179.9/16 dev ens160 && ip addr add 192.168.179.9/16 dev mac0 && ip link set dev mac0 up && ' +
        'ip route flush dev ens160 && ip route flush dev mac0 && ip route add 192.168.0.0/16 dev mac0 metric 0 && ' +
        'ip route add default via 192.168.1.1 dev mac0 metric 0',
    ]);
    expect(run.stdout).toContain('  then: wait up to 30s for 192.168.1.1 to answer from mac0, or put 192.168.179.9/16 back on ens160\n');
    expect(run.stdout).toContain('19 commands to run; nothing was changed.');
  });

  it('plan says, with exit 3, when apply would refuse on this machine', () => {
    const run = runScript(NODE2, ['plan']);
    if (existsSync('/sys/class/net/ens160')) return expect(run.status).toBe(0);
    expect(run.status).toBe(3);
    expect(run.stderr).toBe("node2.sh: error: preflight: parent NIC ens160 does not exist on this node; check the config against 'ip link'\n");
  });

  it('apply refuses before any change when the parent NIC is missing (in a throwaway network namespace)', () => {
    const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const runDir = tempDir('run');
    const run = execFileSync('bash', ['-c', `unshare --net bash "$1" apply; echo "exit=$?"`, 'apply', NODE1], {
      encoding: 'utf8',
      env: { ...process.env, MACVLAN_GEN_RUN_DIR: runDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(run).toMatch(/exit=3\n$/);
    expect(run).not.toContain('+ ip');
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toBe(before);
  });

  it('prints usage and exits 2 without a command or with an unknown one', () => {
    for (const args of [[], ['frobnicate']]) {
      const run = runScript(NODE1, args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('Usage: node1.sh COMMAND');
    }
    expect(runScript(NODE1, ['frobnicate']).stderr).toContain("node1.sh: error: unknown command 'frobnicate'");
  });

  it('documents its commands and exit codes in --help, and names its origin in --version', () => {
    const help = runScript(NODE1, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('host address 192.168.179.9/16 on parent NIC ens160');
    expect(help.stdout).toMatch(/Exit codes:\n  0  success\n  1  .*\n  2  .*\n  3  preflight refused: nothing was changed/);
    const manifest = JSON.parse(readFileSync(path.join(EXAMPLES, 'out', 'seed', 'manifest.json'), 'utf8')) as { version: string; configSha256: string };
    expect(runScript(NODE1, ['--version']).stdout).toBe(`node1.sh (macvlan-gen ${manifest.version}, config sha256 ${manifest.configSha256})\n`);
  });

  it('refuses environment overrides that are not plain values, before any use (exit 2; nothing runs)', () => {
    const dir = tempDir('env');
    const marker = path.join(dir, 'ran');
    const timeout = runScript(NODE1, ['plan'], { MACVLAN_GEN_PROBE_TIMEOUT: `a[$(touch ${marker})]` });
    expect(timeout.status).toBe(2);
    expect(timeout.stderr).toContain("MACVLAN_GEN_PROBE_TIMEOUT must be a whole number of seconds, got 'a[$(touch");
    const runDir = runScript(NODE1, ['plan'], { MACVLAN_GEN_RUN_DIR: 'relative/dir' });
    expect(runDir.status).toBe(2);
    expect(runDir.stderr).toContain("MACVLAN_GEN_RUN_DIR must be an absolute path of letters, digits, '/', '.', '_' and '-', got 'relative/dir'");
    expect(existsSync(marker)).toBe(false);
  });

  it('never brings any link down', () => {
    for (const example of readdirSync(path.join(EXAMPLES, 'out'))) {
      for (const script of readdirSync(path.join(EXAMPLES, 'out', example)).filter((file) => file.endsWith('.sh'))) {
        expect(readFileSync(path.join(EXAMPLES, 'out', example, script), 'utf8')).not.toMatch(/\bip\b[^\n]*\blink\b[^\n]*\bset\b[^\n]*\bdown\b|ifdown/);
      }
    }
  });
});
