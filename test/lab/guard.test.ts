// The guard never strands the node: a full or read-only run directory, a default route via another NIC, secondary
// addresses (promote_secondaries 0 and 1), routes in other tables and multipath routes, and a migration cut short
// between its two address commands. Each starts from a node state that used to strand it. Root only; never skipped in CI.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { buildLab, configOf, FAST_PROBES, nodeState, pingFrom, SEED_TEXT, shellIn } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const SEED = configOf(SEED_TEXT);


/** node1's addresses and routes, in every table, as `ip` prints them. */
const network = (lab: EmulatedLab): Promise<string> =>
  shellIn(lab, 'node1', 'ip -o -4 addr show | sed "s/ *valid_lft.*//"; ip -4 route show table all | grep -v "table local"; ip rule');

describe.skipIf(!isRoot)('the guard never strands the node', () => {
  let lab: EmulatedLab;
  const gateway = (words: string) => execFileSync('ip', ['-n', `${lab.prefix}-gw`, ...words.split(' ')]);
  beforeEach(async () => {
    lab = await buildLab(SEED);
  });
  afterEach(() => lab.remove());

  describe('a run directory that cannot be written', () => {
    const runDir = () => `/run/${lab.prefix}/run/node1`;
    // A tiny tmpfs over the node's run directory, in the node's own mount namespace only.
    const smallRunDir = () => shellIn(lab, 'node1', `mount -t tmpfs -o size=64k mvlab-run ${runDir()}`);
    const whenMigrating = (then: string) =>
      `for _ in $(seq 200); do [ "$(cat ${runDir()}/node1.migration 2>/dev/null)" = migrating ] && break; sleep 0.02; done; ${then}`;

    it('full while the gateway is silent: the guard still reverts, apply says so from the live state, rollback works', async () => {
      await smallRunDir();
      gateway('addr del 192.168.1.1/16 dev lan0');
      const filler = lab.runInNode('node1', ['bash', '-c', whenMigrating(`dd if=/dev/zero of=${runDir()}/filler bs=4k 2>/dev/null; true`)]);
      const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
      await filler;
      expect(apply.status, apply.stdout + apply.stderr).toBe(5);
      expect(apply.stderr).toContain('host migration reverted: ');
      expect(apply.stderr).toContain('the host address is back on ens160');
      expect(await nodeState(lab, 'node1')).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
      gateway('addr add 192.168.1.1/16 dev lan0');
      expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stderr).toBe(0);
      expect(rollback.stdout).toContain('Nothing to roll back: the host address 192.168.179.9/16 is on ens160.');
    });

    it('read-only after a kept migration: rollback puts the host address back all the same', async () => {
      await smallRunDir();
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
      await shellIn(lab, 'node1', `mount -o remount,ro ${runDir()}`);
      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
      expect(rollback.stdout).toContain('Rolled back: the host address 192.168.179.9/16 is back on ens160.');
      expect(await network(lab)).toContain('default via 192.168.1.1 dev ens160');
      expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
    });
  });

  it('keeps its run directory to root: every file it writes there is mode 0600', async () => {
    expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
    const modes = await shellIn(lab, 'node1', `cd /run/${lab.prefix}/run/node1 && stat -c '%a %n' *`);
    expect(modes.trim().split('\n').length).toBeGreaterThan(3);
    for (const line of modes.trim().split('\n')) expect(line).toMatch(/^600 /);
  });

  describe('run from a terminal', () => {
    // script(1) gives apply a terminal, as an operator's SSH session does.
    const inTerminal = (args: string) => lab.runInNode('node1', ['script', '-qec', `bash ${lab.scriptPath('node1')} ${args}`, '/dev/null'], FAST_PROBES);

    it('apply holds the migration for a confirm from a new session by default', async () => {
      const apply = await inTerminal('apply');
      expect(apply.status, apply.stdout).toBe(0);
      expect(apply.stdout).toContain('192.168.1.1 answered. Within 120s, from a NEW session, run: node1.sh confirm');
      expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
    });

    it('apply --no-confirm keeps it once the probes answer', async () => {
      const apply = await inTerminal('apply --no-confirm');
      expect(apply.status, apply.stdout).toBe(0);
      expect(apply.stdout).toContain('192.168.1.1 answered; the host address stays on mac0');
    });
  });

  describe('out of reach of the session that started it', () => {
    const runDir = () => `/run/${lab.prefix}/run/node1`;
    const guardPid = async () => (await shellIn(lab, 'node1', `cut -d' ' -f1 ${runDir()}/node1.lock.owner`)).trim();
    const waiting = async (env: Record<string, string> = {}) => {
      const script = lab.scriptPath('node1');
      await shellIn(lab, 'node1', `sed -i "s/^readonly CONFIGURED_CONFIRM_TIMEOUT=''$/readonly CONFIGURED_CONFIRM_TIMEOUT=20/" ${script}`);
      const apply = await lab.runScript('node1', ['apply'], { ...FAST_PROBES, ...env });
      expect(apply.status, apply.stdout + apply.stderr).toBe(0);
      expect(apply.stdout).toContain('Within 20s, from a NEW session, run: node1.sh confirm');
    };

    it('without systemd: the guard leads a session of its own (setsid), so a logout of the caller\'s session leaves it', async () => {
      await waiting();
      const pid = await guardPid();
      const stat = (await shellIn(lab, 'node1', `cat /proc/${pid}/stat`)).trim();
      const session = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3];
      expect(session).toBe(pid);
      expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
    });

    /** A stand-in systemd-run: records its arguments and starts the command as a service would, detached, in /, with
     * only the --setenv values; with `old`, it rejects --collect as systemd before 236 does. */
    const standInSystemdRun = async (old: boolean) => {
      const bin = `/run/${lab.prefix}/systemd-run-bin`;
      const calls = `/run/${lab.prefix}/systemd-run.calls`;
      const standIn = [
        '#!/bin/bash',
        `printf '%s\\n' "$*" >> ${calls}`,
        ...(old ? ['[[ "$1" == --collect ]] && { echo "systemd-run: unrecognized option --collect" >&2; exit 1; }'] : []),
        'env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin)',
        'while [[ "$1" == --* ]]; do [[ "$1" == --setenv=* ]] && env+=("${1#--setenv=}"); shift; done',
        // A service inherits no file descriptor from whoever called systemd-run.
        'for fd in /proc/$$/fd/*; do n=${fd##*/}; if (( n > 2 )); then eval "exec $n>&-"; fi; done',
        'cd / && setsid -f env -i "${env[@]}" "$@" </dev/null >/dev/null 2>&1',
      ].join('\n');
      await shellIn(lab, 'node1', `mkdir -p ${bin} && printf '%s\n' '${standIn.replaceAll("'", "'\\''")}' > ${bin}/systemd-run && chmod +x ${bin}/systemd-run`);
      // A /run/systemd/system of the emulated node's own: systemd "runs" there only.
      await shellIn(lab, 'node1', 'mkdir -p /run/systemd && mount -t tmpfs mvlab-systemd /run/systemd && mkdir /run/systemd/system');
      return { env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` }, calls };
    };

    for (const old of [false, true]) {
      it(`with systemd${old ? ' older than 236 (no --collect)' : ''}: the guard is a transient service, run by the script's full path from a relative start, and holds the lock`, async () => {
        const { env, calls } = await standInSystemdRun(old);
        try {
          const script = lab.scriptPath('node1');
          await shellIn(lab, 'node1', `sed -i "s/^readonly CONFIGURED_CONFIRM_TIMEOUT=''$/readonly CONFIGURED_CONFIRM_TIMEOUT=20/" ${script}`);
          const apply = await lab.runInNode('node1', ['bash', '-c', `cd ${path.dirname(script)} && bash ./node1.sh apply`], { ...FAST_PROBES, ...env });
          expect(apply.status, apply.stdout + apply.stderr).toBe(0);
          expect(apply.stdout).toContain('Within 20s, from a NEW session, run: node1.sh confirm');
          const recorded = await shellIn(lab, 'node1', `cat ${calls}`);
          expect(recorded).toMatch(new RegExp(`^${old ? '' : '--collect '}--quiet --unit=macvlan-gen-node1-guard-\\d+ --setenv=MACVLAN_GEN_RUN_DIR=\\S+ --setenv=MACVLAN_GEN_PROBE_TIMEOUT=3 --setenv=GUARD_TAKES_LOCK=yes bash ${script} __guard 20 ip addr del `, 'm'));
          const second = await lab.runScript('node1', ['teardown'], env);
          expect(second.status).toBe(4);
          expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
        } finally {
          await shellIn(lab, 'node1', 'umount /run/systemd');
        }
      });
    }
  });

  describe('the lock', () => {
    const runDir = () => `/run/${lab.prefix}/run/node1`;
    const withoutFlock = () => `/run/${lab.prefix}/no-flock`;
    /** A PATH like the node's, less flock: the lock falls back to a directory renamed into place. */
    const noFlockPath = async () => {
      await shellIn(lab, 'node1', `mkdir -p ${withoutFlock()} && for d in /usr/sbin /usr/bin /sbin /bin; do for f in "$d"/*; do n=\${f##*/}; [ "$n" = flock ] || [ -e ${withoutFlock()}/"$n" ] || ln -s "$f" ${withoutFlock()}/"$n"; done; done`);
      return { PATH: withoutFlock() };
    };

    it('with flock: an owner record naming a live but unrelated process does not block', async () => {
      await shellIn(lab, 'node1', `mkdir -p ${runDir()} && echo "1 0" > ${runDir()}/node1.lock.owner`);
      const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
      expect(apply.status, apply.stderr).toBe(0);
    });

    it('without flock: a lock left by a pid now reused by another process is taken over', async () => {
      const env = { ...FAST_PROBES, ...(await noFlockPath()) };
      // pid 1 lives, but it did not start at time 0: the lock's owner is gone.
      await shellIn(lab, 'node1', `mkdir -p ${runDir()}/node1.lock && echo "1 0" > ${runDir()}/node1.lock/pid`);
      const apply = await lab.runScript('node1', ['apply'], env);
      expect(apply.status, apply.stderr).toBe(0);
    });

    it('without flock: a running migration keeps the lock, and a second run is refused with its pid', async () => {
      const env = { ...(await noFlockPath()) };
      const config = `/run/${lab.prefix}/scripts/node1.sh`;
      await shellIn(lab, 'node1', `sed -i "s/^readonly CONFIGURED_CONFIRM_TIMEOUT=''$/readonly CONFIGURED_CONFIRM_TIMEOUT=10/" ${config}`);
      expect((await lab.runScript('node1', ['apply'], { ...env, ...FAST_PROBES })).status).toBe(0);
      const second = await lab.runScript('node1', ['teardown'], env);
      expect(second.status).toBe(4);
      expect(second.stderr).toMatch(/another run \(pid \d+\) is working on this node/);
      expect((await lab.runScript('node1', ['confirm'], env)).status).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await lab.runScript('node1', ['teardown'], env)).status).toBe(0);
    });
  });

  describe('the default route', () => {
    it('via another NIC: preflight refuses, exit 3, nothing changed', async () => {
      await shellIn(lab, 'node1', 'ip link add eth1 type veth peer name eth1p && ip link set eth1 up && ip link set eth1p up && ip addr add 10.77.0.2/24 dev eth1');
      await shellIn(lab, 'node1', 'ip route del default && ip route add default via 10.77.0.1 dev eth1 metric 100');
      const before = await network(lab);
      const apply = await lab.runScript('node1', ['apply', '--force']);
      expect(apply.status).toBe(3);
      expect(apply.stderr).toMatch(/preflight: the node's default route is 'default via 10\.77\.0\.1 dev eth1 [^']*metric 100', not via 192\.168\.1\.1 on ens160/);
      expect(await network(lab)).toBe(before);
    });

    it('via the gateway with a metric: the migration keeps the metric, and rollback too', async () => {
      await shellIn(lab, 'node1', 'ip route del default && ip route add default via 192.168.1.1 dev ens160 metric 100');
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
      expect(await network(lab)).toContain('default via 192.168.1.1 dev mac0 metric 100');
      expect((await lab.runScript('node1', ['rollback'])).status).toBe(0);
      expect(await network(lab)).toContain('default via 192.168.1.1 dev ens160 metric 100');
    });
  });

  for (const promote of [0, 1]) {
    it(`secondary addresses with promote_secondaries=${promote}: rollback gives back every address in order, and the default route`, async () => {
      await shellIn(lab, 'node1', `echo ${promote} > /proc/sys/net/ipv4/conf/ens160/promote_secondaries && ip addr add 192.168.179.50/16 dev ens160 label ens160:1`);
      const before = await network(lab);
      const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
      expect(apply.status, apply.stderr).toBe(0);
      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
      expect(await network(lab)).toBe(before);
      expect(before).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160\\\n.*inet 192\.168\.179\.50\/16 scope global secondary ens160:1/);
    });
  }

  it('what else leaves with the host address comes back: an address metric, routes from it on other NICs, a static gateway entry, the zeroconf route', async () => {
    const gatewayMac = /link\/ether ([0-9a-f:]+)/.exec(execFileSync('ip', ['-n', `${lab.prefix}-gw`, 'link', 'show', 'lan0'], { encoding: 'utf8' }))?.[1] ?? '';
    await shellIn(lab, 'node1', [
      'ip addr del 192.168.179.9/16 dev ens160',
      'ip addr add 192.168.179.9/16 dev ens160 metric 100',
      'ip route add default via 192.168.1.1 dev ens160',
      'ip route add 169.254.0.0/16 dev ens160 scope link metric 1002',
      'ip link add eth9 type veth peer name eth9p && ip link set eth9 up && ip link set eth9p up && ip addr add 10.9.0.2/24 dev eth9',
      'ip route add 10.50.0.0/16 via 10.9.0.1 dev eth9 src 192.168.179.9',
      `ip neigh replace 192.168.1.1 lladdr ${gatewayMac} nud permanent dev ens160`,
    ].join(' && '));
    const neighbours = () => shellIn(lab, 'node1', 'ip neigh show nud permanent');
    const before = await network(lab);
    const pinned = await neighbours();
    const refused = await lab.runScript('node1', ['apply']);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('would lose this route through ens160: 10.50.0.0/16 via 10.9.0.1 dev eth9 src 192.168.179.9');
    expect(refused.stderr).not.toContain('169.254.0.0/16');
    const apply = await lab.runScript('node1', ['apply', '--force'], FAST_PROBES);
    expect(apply.status, apply.stderr).toBe(0);
    const rollback = await lab.runScript('node1', ['rollback']);
    expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
    expect(await network(lab)).toBe(before);
    expect(await neighbours()).toBe(pinned);
    expect(pinned).toContain('192.168.1.1 dev ens160 lladdr');
  });

  it('routes in other tables and multipath routes: named by preflight, lost only with --force, all back after an automatic revert', async () => {
    await shellIn(lab, 'node1', [
      'ip route add 172.16.0.0/12 via 192.168.1.1 dev ens160 table 100',
      'ip rule add from 192.168.179.9 lookup 100 priority 1000',
      'ip route add 10.50.0.0/16 nexthop via 192.168.1.1 dev ens160 nexthop via 192.168.1.254 dev ens160',
    ].join(' && '));
    const before = await network(lab);
    const refused = await lab.runScript('node1', ['apply']);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('would lose this route through ens160: 172.16.0.0/12 via 192.168.1.1 dev ens160 table 100 (');
    expect(refused.stderr).toContain('would lose this route through ens160: 10.50.0.0/16 nexthop via 192.168.1.1 dev ens160 weight 1 nexthop via 192.168.1.254 dev ens160 weight 1 (');
    gateway('addr del 192.168.1.1/16 dev lan0');
    const forced = await lab.runScript('node1', ['apply', '--force'], FAST_PROBES);
    expect(forced.status).toBe(5);
    expect(await network(lab)).toBe(before);
  });

  describe('a migration cut short between its address commands (the address on neither interface)', () => {
    // Without a saved state (a reboot empties the run directory), the config says what goes back.
    const cutShort = async () => {
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
      expect((await lab.runScript('node1', ['rollback'])).status).toBe(0);
      // What the guard leaves when it is killed right after `ip addr del ... dev ens160`.
      await shellIn(lab, 'node1', 'ip addr del 192.168.179.9/16 dev ens160');
    };

    it('rollback puts the address and the default route back', async () => {
      await cutShort();
      const rollback = await lab.runScript('node1', ['rollback']);
      expect(rollback.status, rollback.stdout + rollback.stderr).toBe(0);
      expect(rollback.stdout).toContain('is on neither ens160 nor mac0 (a migration cut short): putting it back');
      const state = await network(lab);
      expect(state).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
      expect(state).toContain('default via 192.168.1.1 dev ens160');
      expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
    });

    it('teardown puts it back too, and says so', async () => {
      await cutShort();
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stdout + teardown.stderr).toBe(0);
      expect(teardown.stdout).toContain('  + ip addr add 192.168.179.9/16 dev ens160\n');
      expect(await network(lab)).toContain('default via 192.168.1.1 dev ens160');
      expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
    });
  });
});
