// The generated node script on emulated nodes: idempotent apply, convergence after interruption, exact teardown,
// verify, the guarded host migration (revert, confirm, rollback) and every refusal. Root only; never skipped in CI.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { recordLab } from '../../src/lab/transcripts.js';
import { sha256 } from '../../src/output/assemble.js';
import { ROOT } from '../support/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { renderConfig } from '../../src/pipeline.js';
import { labPaths } from '../../src/lab/commands.js';
import { buildPlan } from '../../src/plan/plan.js';
import { buildTopology } from '../../src/lab/topology.js';
import { expectReachability } from '../../src/lab/expect.js';
import { labStages } from '../../src/lab/stages.js';
import { buildLab, configOf, FAST_PROBES, nodeState, normalizeState, pingFrom, SEED_TEXT, shellIn, withNode1Shim } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const SEED = configOf(SEED_TEXT);

/** One ping, one answer awaited: no retry to hide a stale neighbour entry. */
async function pingOnce(lab: EmulatedLab, node: string, address: string): Promise<boolean> {
  return (await lab.runInNode(node, ['ping', '-n', '-q', '-c', '1', '-W', '2', address])).status === 0;
}

async function inNode(lab: EmulatedLab, node: string, command: string): Promise<void> {
  const result = await lab.runInNode(node, ['bash', '-c', command]);
  if (result.status !== 0) throw new Error(`${command} failed in ${node}: ${result.stderr}`);
}

describe.skipIf(!isRoot)('the node script on an emulated node', () => {
  describe('apply, verify and teardown', () => {
    let lab: EmulatedLab;
    let pristine: string;
    let applied: string;
    beforeAll(async () => {
      lab = await buildLab(SEED);
      pristine = await nodeState(lab, 'node1');
      const first = await lab.runScript('node1', ['apply']);
      expect(first.status, first.stderr).toBe(0);
      applied = await nodeState(lab, 'node1');
    });
    afterAll(() => lab.remove());

    it('a second apply changes nothing and says so', async () => {
      const second = await lab.runScript('node1', ['apply']);
      expect(second.status).toBe(0);
      expect(second.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
      expect(second.stdout).not.toMatch(/^ {2}\+ /m);
      expect(await nodeState(lab, 'node1')).toBe(applied);
    });

    it('plan on an applied node lists what is already there and no command', async () => {
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.status).toBe(0);
      expect(plan.stdout).toContain('  = ns1: route default via 192.168.1.1 dev mac1\n');
      expect(plan.stdout).toContain('  = the host address 192.168.179.9/16 is on mac0\n');
      expect(plan.stdout).toContain('Nothing to do: the node already matches the config.');
    });

    it('verify passes on an applied node, names a mismatch, and apply repairs it', async () => {
      const ok = await lab.runScript('node1', ['verify']);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('  ok    ns1 reaches its gateway 192.168.1.1\n');
      expect(ok.stdout).toMatch(/\n\d+ checks, all ok\.\n$/);

      await inNode(lab, 'node1', 'ip netns exec ns1 ip route del default');
      const broken = await lab.runScript('node1', ['verify']);
      expect(broken.status).toBe(1);
      expect(broken.stdout).toContain('  FAIL  ns1: default route via 192.168.1.1\n');

      const repair = await lab.runScript('node1', ['apply']);
      expect(repair.stdout).toContain('  + ip -n ns1 route add default via 192.168.1.1 dev mac1\n');
      expect(repair.stdout).toContain('Done: 1 commands ran.');
      expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
    });

    it('verify probes without ping too: a refused TCP attempt is an answer, silence is not', async () => {
      const bin = `/run/${lab.prefix}/no-ping-bin`;
      const tools = ['bash', 'ip', 'sleep', 'mkdir', 'rm', 'mv', 'env'];
      await inNode(lab, 'node1', `mkdir -p ${bin} && for t in ${tools.join(' ')}; do ln -sf "$(command -v $t)" ${bin}/$t; done`);
      const verify = await lab.runScript('node1', ['verify'], { PATH: bin });
      expect(verify.status, verify.stdout).toBe(0);
      expect(verify.stdout).toContain('  ok    the host reaches 192.168.1.1 through mac0\n');
      expect(verify.stdout).toContain('  ok    ns1 reaches its gateway 192.168.1.1\n');
      execFileSync('ip', ['-n', `${lab.prefix}-gw`, 'addr', 'del', '192.168.1.1/16', 'dev', 'lan0']);
      const silent = await lab.runScript('node1', ['verify'], { PATH: bin });
      execFileSync('ip', ['-n', `${lab.prefix}-gw`, 'addr', 'add', '192.168.1.1/16', 'dev', 'lan0']);
      expect(silent.status).toBe(1);
      expect(silent.stdout).toContain('  FAIL  the host reaches 192.168.1.1 through mac0\n');
    });

    it('teardown returns the node exactly to its state before apply, and a second teardown does nothing', async () => {
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(teardown.stdout).toContain('  + ip addr add 192.168.179.9/16 scope global dev ens160\n');
      expect(await nodeState(lab, 'node1')).toBe(pristine);
      const again = await lab.runScript('node1', ['teardown']);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain('Nothing to tear down: nothing that apply made is left.');
    });

    it('converges after apply is killed after the k-th batch of changes, for every k before the migration', async () => {
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      const bin = `/run/${lab.prefix}/test-bin`;
      mkdirSync(bin, { recursive: true });
      // An `ip` that lets the k-th state-changing process through (a batch, or a single command), then kills the
      // script that started it. State reads (-o) and the macvlan probe (the one -force batch) do not count.
      writeFileSync(
        `${bin}/ip`,
        [
          '#!/bin/bash',
          'args=" $* "',
          'if [[ -z "${COUNTED:-}" && "$args" != *" -o "* && "$args" != *" -force "* && "$args" != *mvgprobe* && ( "$args" == *" -batch "* || "$args" =~ \\ (add|del|set|flush|replace)\\  ) ]]; then',
          '  count=$(( $(cat "$COUNT_FILE" 2>/dev/null || echo 0) + 1 )); echo "$count" > "$COUNT_FILE"',
          '  COUNTED=1 /usr/sbin/ip "$@"; status=$?',
          // The script may run batches in background subshells: kill the outermost bash running node1.sh.
          '  if (( count == KILL_AFTER )); then',
          '    pid=$PPID; target=$PPID',
          '    while (( pid > 1 )); do',
          '      if tr "\\0" " " < /proc/$pid/cmdline | grep -q "node1.sh"; then target=$pid; fi',
          '      pid=$(awk "{print \\$4}" /proc/$pid/stat)',
          '    done',
          '    kill -9 "$target"',
          '  fi',
          '  exit "$status"',
          'fi',
          'exec /usr/sbin/ip "$@"',
        ].join('\n'),
        { mode: 0o755 },
      );
      // 1: this node's batch (promisc, namespaces, links); 2, 3: one per namespace; 4: the shim's link.
      for (const k of [1, 2, 3, 4]) {
        const countFile = `${bin}/count-${k}`;
        const killed = await lab.runScript('node1', ['apply'], { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, KILL_AFTER: String(k), COUNT_FILE: countFile });
        expect(killed.signal, `k=${k}: ${killed.stdout}`).toBe('SIGKILL');
        const resumed = await lab.runScript('node1', ['apply']);
        expect(resumed.status, `k=${k}: ${resumed.stderr}`).toBe(0);
        expect(normalizeState(await nodeState(lab, 'node1')), `k=${k}`).toBe(normalizeState(applied));
        expect((await lab.runScript('node1', ['verify'])).status, `k=${k}`).toBe(0);
        expect((await lab.runScript('node1', ['teardown'])).status, `k=${k}`).toBe(0);
        expect(await nodeState(lab, 'node1'), `k=${k}`).toBe(pristine);
      }
    });

    it('moves a macvlan left outside its namespace into it', async () => {
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      // Into the emulated node's own namespace: that of the shell running this command there (the `&& true` keeps
      // bash from exec-ing ip in its place, which would make $$ the ip process, already switched into ns2).
      await inNode(lab, 'node1', 'ip -n ns2 link set dev mac2 netns $$ && true');
      const repair = await lab.runScript('node1', ['apply']);
      expect(repair.stdout).toContain('  + ip link set dev mac2 netns ns2\n');
      expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    });

    it('works with an old iproute2 (no -n option, "macvlan  mode" in its details, a batch that stays in the namespace its netns add made), through ip netns exec', async () => {
      const bin = `/run/${lab.prefix}/old-ip-bin`;
      mkdirSync(bin, { recursive: true });
      // An ip that rejects -n and does not list it in its help, as iproute2 before 4.x, prints a macvlan's mode after
      // two spaces, as older ones do (CentOS 7, Debian 9), and, as every iproute2 before 5.2, runs the rest of a batch
      // inside the namespace that a `netns add` of the batch made (each line here one ip of its own).
      writeFileSync(
        `${bin}/ip`,
        [
          '#!/bin/bash',
          'if [[ "$1" == -n ]]; then echo \'Option "-n" is unknown, try "ip -help".\' >&2; exit 255; fi',
          'if [[ "$1" == -help ]]; then /usr/sbin/ip -help 2>&1 | sed "s/-n\\[etns\\] name |//; s/-n\\[etns\\]//" >&2; exit 255; fi',
          'real() { if [[ " $* " == *" -d "* ]]; then local out; out="$(/usr/sbin/ip "$@")" || return; [[ -z "${out}" ]] || printf "%s\\n" "${out//macvlan mode/macvlan  mode}"; else /usr/sbin/ip "$@"; fi; }',
          'options=() batch=no force=no',
          'while (($# > 0)) && [[ "$1" == -* ]]; do',
          '  case "$1" in -batch) batch=yes; shift ;; -force) force=yes ;; *) options+=("$1") ;; esac',
          '  shift',
          'done',
          'if [[ "${batch}" == no ]]; then real "${options[@]}" "$@"; exit; fi',
          'inside="" number=0 status=0',
          'while IFS= read -r line; do',
          '  number=$((number + 1))',
          '  read -r -a words <<<"${line}"',
          '  ((${#words[@]} > 0)) || continue',
          '  where=()',
          '  if [[ -n "${inside}" && "${words[0]}" != netns ]]; then where=(-n "${inside}"); fi',
          '  if ! real "${where[@]}" "${options[@]}" "${words[@]}"; then echo "Command failed -:${number}" >&2; status=1; [[ "${force}" == yes ]] || break; fi',
          '  if [[ "${words[0]} ${words[1]:-}" == "netns add" ]]; then inside="${words[2]}"; fi',
          'done',
          'exit "${status}"',
        ].join('\n'),
        { mode: 0o755 },
      );
      const env = { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` };
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      const apply = await lab.runScript('node1', ['apply'], env);
      expect(apply.status, apply.stderr).toBe(0);
      expect(apply.stdout).toContain('  + ip netns exec ns1 ip addr add 192.168.179.12/16 dev mac1\n');
      expect((await lab.runScript('node1', ['verify'], env)).status).toBe(0);
      expect((await lab.runScript('node1', ['apply'], env)).stdout).toContain('Nothing to do');
      expect((await lab.runScript('node1', ['teardown'], env)).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    });
  });

  // Twelve namespaces: more than the state reads that run at once, so their streams are read in parallel and merged.
  it('a node with many namespaces: the state of each is read right, a single drift is found and repaired, teardown is clean even after a link was removed by hand', async () => {
    const spaces = Array.from({ length: 12 }, (_, i) => `      ns${i + 1}: { interface: mac${i + 1}, address: 192.168.179.${20 + i}/16${i % 2 ? '' : ', gateway: 192.168.1.1'} }`);
    const config = configOf(`version: 1
nodes:
  node1:
    parent: ens160
    address: 192.168.179.9/16
    gateway: 192.168.1.1
    hostShim: { interface: mac0 }
    namespaces:
${spaces.join('\n')}
  node2:
    parent: ens160
    address: 192.168.179.10/16
`);
    const lab = await buildLab(config);
    try {
      const pristine = await nodeState(lab, 'node1');
      expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
      const applied = await nodeState(lab, 'node1');
      const again = await lab.runScript('node1', ['apply']);
      expect(again.stdout).toContain('Nothing to do: the node already matches the config');
      await inNode(lab, 'node1', 'ip -n ns11 addr del 192.168.179.30/16 dev mac11 && ip -n ns5 route del default');
      const repair = await lab.runScript('node1', ['apply']);
      // The address took ns11's default route with it: both come back, and ns5's route, and nothing else.
      expect(repair.stdout.match(/^ {2}\+ .*$/gm)).toEqual([
        '  + ip -n ns11 addr add 192.168.179.30/16 dev mac11',
        '  + ip -n ns5 route add default via 192.168.1.1 dev mac5',
        '  + ip -n ns11 route add default via 192.168.1.1 dev mac11',
      ]);
      expect(await nodeState(lab, 'node1')).toBe(applied);
      expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
      // Teardown deletes each namespace's link without reading the namespace first: one removed by hand is no failure.
      await inNode(lab, 'node1', 'ip -n ns3 link del mac3');
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(teardown.stdout).toContain('  + ip -n ns3 link del dev mac3\n');
      expect(teardown.stdout).toContain('  = ns3: mac3 was gone already (ip said so above)\n');
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    } finally {
      lab.remove();
    }
  });

  // An `ip netns add` interrupted between making the entry and mounting the namespace on it, or an unmount by hand,
  // leaves a file no ip can enter, which also blocks `ip netns add` of that name; a process started in the namespace
  // keeps it alive, our macvlan and address in it. Twelve namespaces: the reads (and teardown's batches) that meet
  // such entries run in streams; one entry alone is met by a read in the script's own shell.
  it('a namespace entry with nothing mounted on it: apply, plan and verify refuse before any change, teardown stops, each saying how to clear it (ip netns del, or a bind mount where a process still holds the namespace)', async () => {
    const spaces = Array.from({ length: 12 }, (_, i) => `      ns${i + 1}: { interface: mac${i + 1}, address: 192.168.179.${20 + i}/16, gateway: 192.168.1.1 }`);
    const config = configOf(`version: 1
nodes:
  node1:
    parent: ens160
    address: 192.168.179.9/16
    namespaces:
${spaces.join('\n')}
  node2:
    parent: ens160
    address: 192.168.179.10/16
`);
    const lab = await buildLab(config);
    const explained = (netns: string, command: string) => [
      `node1.sh: error: /var/run/netns/${netns} is not a network namespace any more: nothing is mounted on it (an 'ip netns add' interrupted before it mounted one, or an unmount by hand), so no ip can enter it and 'ip netns add ${netns}' cannot make it again\n`,
      `node1.sh: error: 'ip netns del ${netns}' removes the entry; but if a process still runs in that namespace (one started with 'ip netns exec ${netns}'), the namespace lives on with what is inside it, our interface and its address among them: end that process first, or instead mount its namespace back on the entry with 'mount --bind /proc/PID/ns/net /var/run/netns/${netns}' (see Troubleshooting for how to find it); then run node1.sh ${command} again\n`,
    ];
    const expectRefused = async (...names: string[]) => {
      const before = await nodeState(lab, 'node1');
      for (const command of ['apply', 'plan', 'verify']) {
        const run = await lab.runScript('node1', [command]);
        expect(run.status, `${command}: ${run.stderr}`).toBe(3);
        for (const netns of names) {
          expect(run.stderr).toContain(`setting the network namespace "${netns}" failed: Invalid argument`);
          for (const line of explained(netns, command)) expect(run.stderr).toContain(line);
        }
        expect(run.stderr).toContain('node1.sh: error: nothing was changed\n');
        expect(run.stdout).not.toMatch(/^ {2}\+ /m);
      }
      expect(await nodeState(lab, 'node1')).toBe(before);
    };
    let holder = 0;
    try {
      const pristine = await nodeState(lab, 'node1');
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      // ns7 held by a process (its pid, ended below), ns3 by nothing: both unmounted.
      holder = Number(await shellIn(lab, 'node1', 'ip netns exec ns7 sleep 600 </dev/null >/dev/null 2>&1 & echo $!'));
      expect(holder).toBeGreaterThan(0);
      await inNode(lab, 'node1', 'umount /run/netns/ns7 && umount /run/netns/ns3 && test -f /run/netns/ns7 && test -f /run/netns/ns3');
      await expectRefused('ns3', 'ns7');
      // Teardown cannot tell whether a process holds such a namespace: it stops and says so, the rest removed.
      const stopped = await lab.runScript('node1', ['teardown']);
      expect(stopped.status).toBe(1);
      for (const netns of ['ns3', 'ns7']) for (const line of explained(netns, 'teardown')) expect(stopped.stderr).toContain(line);
      // The troubleshooting page's way to find the holder: a process in a namespace with no name (here, every
      // process of the lab's nodes is too: their namespace is not pid 1's).
      const troubleshooting = readFileSync(path.join(ROOT, 'docs/troubleshooting.md'), 'utf8');
      const finder = /```bash\n(for p in \/proc[^`]*)```/.exec(troubleshooting)?.[1] ?? '';
      expect(finder).toContain('ip netns identify');
      expect((await shellIn(lab, 'node1', finder)).split('\n')).toContain(`${holder} sleep`);
      await inNode(lab, 'node1', `mount --bind /proc/${holder}/ns/net /run/netns/ns7 && ip netns del ns3`);
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(teardown.stdout).toContain('  + ip -n ns7 link del dev mac7\n');
      expect(teardown.stdout).toContain('  + ip netns del ns7\n');
      expect(await nodeState(lab, 'node1')).toBe(pristine);
      // The entry as an interrupted `ip netns add` leaves it: an empty file of mode 0, ours alone this time.
      await inNode(lab, 'node1', 'install -m 0 /dev/null /run/netns/ns2');
      await expectRefused('ns2');
      await inNode(lab, 'node1', 'ip netns del ns2');
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    } finally {
      if (holder > 0) {
        try {
          process.kill(holder);
        } catch {
          // Gone already.
        }
      }
      lab.remove();
    }
  });

  it('many namespaces (their batches and reads in streams) on a node as real ones are: rp_filter=1 and promote_secondaries=1, a secondary address, a policy rule, a second NIC with the preferred default route, warm neighbour caches', async () => {
    const spaces = Array.from({ length: 12 }, (_, i) => `      ns${i + 1}: { interface: mac${i + 1}, address: 192.168.179.${20 + i}/16, gateway: 192.168.1.1 }`);
    const config = configOf(`version: 1
defaults: { mac: auto }
nodes:
  node1:
    parent: ens160
    address: 192.168.179.9/16
    gateway: 192.168.1.1
    namespaces:
${spaces.join('\n')}
  node2:
    parent: ens160
    address: 192.168.179.10/16
`);
    const rendered = renderConfig(config, 'test');
    const lab = await EmulatedLab.build(rendered.plan, rendered.scripts, { node1: 'rhel' });
    const addresses = spaces.map((_, i) => `192.168.179.${20 + i}`);
    const client = lab.topology.endpoints.find((endpoint) => endpoint.kind === 'client')?.ip;
    // What the script must leave alone: node1's own addresses, routes of every table, rules and sysctls.
    const own = () => shellIn(lab, 'node1', 'ip -o addr show; ip route show table all; ip rule show; sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.ens160.rp_filter net.ipv4.conf.ens160.promote_secondaries');
    // Each namespace answers node2, whose ARP cache is warm from the run before: one ping each, no second chance.
    const answered = async () => (await Promise.all(addresses.map((address) => pingOnce(lab, 'node2', address)))).filter(Boolean).length;
    try {
      await shellIn(lab, 'node1', [
        'ip addr add 192.168.179.50/16 dev ens160',
        'ip link add eth1 type veth peer name eth1p && ip link set eth1 up && ip link set eth1p up && ip addr add 10.77.0.2/24 dev eth1',
        'ip route del default && ip route add default via 192.168.1.1 dev ens160 metric 200 && ip route add default via 10.77.0.1 dev eth1 metric 100',
        'ip rule add from 192.168.179.50 lookup 100 priority 1000 && ip route add default via 192.168.1.1 dev ens160 table 100',
        'ping -n -q -c 1 -W 2 192.168.179.10 >/dev/null',
      ].join(' && '));
      const pristine = await nodeState(lab, 'node1');
      const ownBefore = await own();
      expect(ownBefore).toContain('secondary ens160');

      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stderr).toBe(0);
      expect(await own()).toBe(ownBefore);
      // node2 on the LAN, and the lab's outside client through the namespace's default route.
      const reachesOut = await Promise.all(spaces.map((_, i) => shellIn(lab, 'node1', `ip netns exec ns${i + 1} ping -n -q -c 1 -W 2 192.168.179.10 >/dev/null && ip netns exec ns${i + 1} ping -n -q -c 1 -W 2 ${client} >/dev/null && echo ok`)));
      expect(reachesOut).toEqual(spaces.map(() => 'ok\n'));
      expect(await answered()).toBe(addresses.length);
      const applied = await nodeState(lab, 'node1');

      const again = await lab.runScript('node1', ['apply']);
      expect(again.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
      expect(await nodeState(lab, 'node1')).toBe(applied);

      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
      expect(await own()).toBe(ownBefore);
      // Applied again with node2's cache still holding each namespace's MAC (the same MAC: mac auto).
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      expect(normalizeState(await nodeState(lab, 'node1'))).toBe(normalizeState(applied));
      expect(await answered()).toBe(addresses.length);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    } finally {
      lab.remove();
    }
  });

  it('a new config drops namespaces, renames one (same address), renames a macvlan and drops the shim: plan shows the leftovers, verify fails on them, apply removes them first and announces the moved address, teardown removes them too, and the old shim stays noted', async () => {
    const node1 = (shim: string, spaces: string[]) => `version: 1
defaults: { mac: auto }
nodes:
  node1:
    parent: ens160
    address: 192.168.179.9/16
    gateway: 192.168.1.1
${shim}    namespaces:
${spaces.map((space) => `      ${space}`).join('\n')}
  node2:
    parent: ens160
    address: 192.168.179.10/16
`;
    // Ten namespaces: their state is read in streams, teardown's batches run in streams.
    const numbers = Array.from({ length: 10 }, (_, i) => i + 1);
    const before = configOf(node1('    hostShim: { interface: mac0, address: 192.168.179.250/32 }\n',
      numbers.map((n) => `ns${n}: { interface: mac${n}, address: 192.168.179.${20 + n}/16, gateway: 192.168.1.1 }`)));
    // ns2 and ns5-ns10 dropped, ns3 now web with ns3's address, ns4's macvlan now eth4, no shim.
    const after = configOf(node1('', [
      'ns1: { interface: mac1, address: 192.168.179.21/16, gateway: 192.168.1.1 }',
      'web: { interface: mac3, address: 192.168.179.23/16, gateway: 192.168.1.1 }',
      'ns4: { interface: eth4, address: 192.168.179.24/16, gateway: 192.168.1.1 }',
    ]));
    const first = renderConfig(before, 'test');
    const second = renderConfig(after, 'test');
    const lab = await EmulatedLab.build(first.plan, first.scripts, { node1: 'rhel' });
    const record = () => readFileSync(path.join(labPaths(lab.prefix).runDir('node1'), 'node1.created'), 'utf8');
    const namespaces = async () => (await shellIn(lab, 'node1', 'ip netns list | cut -d" " -f1 | sort')).split('\n').filter(Boolean);
    const dropped = [2, 5, 6, 7, 8, 9, 10];
    try {
      // node1 as real ones are (besides rp_filter=1 and promote_secondaries=1): a secondary address, a second NIC
      // with the preferred default route, a policy rule.
      await shellIn(lab, 'node1', [
        'ip addr add 192.168.179.50/16 dev ens160',
        'ip link add eth1 type veth peer name eth1p && ip link set eth1 up && ip link set eth1p up && ip addr add 10.77.0.2/24 dev eth1',
        'ip route del default && ip route add default via 192.168.1.1 dev ens160 metric 200 && ip route add default via 10.77.0.1 dev eth1 metric 100',
        'ip rule add from 192.168.179.50 lookup 100 priority 1000 && ip route add default via 192.168.1.1 dev ens160 table 100',
      ].join(' && '));
      const pristine = await nodeState(lab, 'node1');
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      // node2's ARP cache holds every namespace's MAC, as a LAN's would.
      for (const n of numbers) expect(await pingOnce(lab, 'node2', `192.168.179.${20 + n}`)).toBe(true);

      // What apply must not take with a dropped namespace: a link someone else put in ns6, a process in ns7.
      await shellIn(lab, 'node1', 'ip -n ns6 link add v6a type veth peer name v6b');
      const holder = (await shellIn(lab, 'node1', 'ip netns exec ns7 sleep 600 >/dev/null 2>&1 & echo $!')).trim();
      lab.installScripts(second.scripts);
      const plan = await lab.runScript('node1', ['plan']);
      expect(plan.status, plan.stderr).toBe(0);
      expect(plan.stdout).toContain([
        '[leftovers] Remove what an earlier apply made that this config no longer names',
        '  ip -n ns2 link del dev mac2',
        '  ip -n ns3 link del dev mac3',
        '  ip -n ns4 link del dev mac4',
        ...[5, 6, 7, 8, 9, 10].map((n) => `  ip -n ns${n} link del dev mac${n}`),
        ...[2, 3, 5].map((n) => `  ip netns del ns${n}`),
      ].join('\n'));
      expect(plan.stdout).toMatch(/^ {2}note: namespace ns6 stays: besides what apply made it holds (v6a, v6b|v6b, v6a); ip netns del ns6 once nobody needs it\n/m);
      expect(plan.stdout).toContain([
        `  note: processes ${holder} run in namespace ns7: they keep it, without its name and without what apply made in it`,
        ...[7, 8, 9, 10].map((n) => `  ip netns del ns${n}`),
        '  note: mac0 stays: apply made it, and this config no longer names it; it may hold the host address or links of others: once nothing uses it, ip link del dev mac0',
      ].join('\n'));
      const stale = await lab.runScript('node1', ['verify']);
      expect(stale.status).toBe(1);
      for (const line of ['FAIL  ns2: mac2, which an earlier apply made', 'FAIL  namespace ns3, which an earlier apply made', 'FAIL  ns4: mac4, which an earlier apply made', 'FAIL  namespace ns10, which']) expect(stale.stdout).toContain(line);

      const apply = await lab.runScript('node1', ['apply']);
      expect(apply.status, apply.stderr).toBe(0);
      // The old macvlans go in a step of their own, which ends once its commands have run: 192.168.179.23 is never on two interfaces.
      expect(apply.stdout.indexOf('+ ip -n ns3 link del dev mac3')).toBeLessThan(apply.stdout.indexOf('[promisc]'));
      expect(apply.stdout.indexOf('[promisc]')).toBeLessThan(apply.stdout.indexOf('+ ip -n web addr add 192.168.179.23/16 dev mac3'));
      expect(await namespaces()).toEqual(['ns1', 'ns4', 'ns6', 'web']);
      expect(await shellIn(lab, 'node1', 'ip -n ns6 -o link show | cut -d" " -f2 | sort | tr "\\n" " "')).toBe('lo: v6a@v6b: v6b@v6a: ');
      process.kill(Number(holder));
      expect(await shellIn(lab, 'node1', 'ip -n ns4 -br link show type macvlan | cut -d@ -f1')).toBe('eth4\n');
      expect(record().split('\n').sort()).toEqual(['', 'link /mac0', 'link ns1/mac1', 'link ns4/eth4', 'link web/mac3', 'netns ns1', 'netns ns4', 'netns web', 'promisc ens160']);
      // web's MAC is new (mac auto follows the namespace's name) while node2's cache holds ns3's: apply announced
      // it, and one ping each answers (before verify, whose probes would tell node2 too). ns4's MAC is the same.
      expect(apply.stdout).toContain('  web: announced 192.168.179.23 from its new interface (ARP requests for 192.168.1.1)\n');
      expect(apply.stdout).not.toContain('ns4: announced');
      for (const n of [1, 3, 4]) expect(await pingOnce(lab, 'node2', `192.168.179.${20 + n}`)).toBe(true);
      // The Teardown page (en, zh) shows lines of this apply.
      for (const page of ['docs/guide/steps/teardown.md', 'docs/zh/guide/steps/teardown.md']) {
        const shown = /```text\n(\[leftovers\][\s\S]*?)```/.exec(readFileSync(path.join(ROOT, page), 'utf8'))?.[1] ?? '';
        const lines = shown.split('\n').filter((line) => line.trim() !== '' && line !== '...');
        expect(lines.length, page).toBe(4);
        for (const line of lines) expect(apply.stdout, page).toContain(`${line}\n`);
      }
      const verify = await lab.runScript('node1', ['verify']);
      expect(verify.status, verify.stdout).toBe(0);
      expect(verify.stdout).toContain('  note  mac0, which an earlier apply made, is still there; this config no longer names it\n');
      const again = await lab.runScript('node1', ['apply']);
      expect(again.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
      expect(again.stdout).not.toMatch(/^ {2}\+ /m);
      expect(again.stdout).toContain('  note: mac0 stays');

      // Teardown removes what this config names and keeps the notes of the shim it leaves; ns6 is no longer ours.
      const teardown = await lab.runScript('node1', ['teardown']);
      expect(teardown.status, teardown.stderr).toBe(0);
      expect(teardown.stdout).toContain('  note: mac0 stays');
      // mac0 sits on ens160: its promiscuous mode stays, noted, for the script that made mac0.
      expect(teardown.stdout).toContain('  note: ens160 stays in promiscuous mode: mac0, which stays, sits on it\n');
      expect(record()).toBe('promisc ens160\nlink /mac0\n');
      expect(await namespaces()).toEqual(['ns6']);
      await shellIn(lab, 'node1', 'ip netns del ns6');
      // The script of the config that made the shim removes it.
      lab.installScripts(first.scripts);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);

      // Teardown by the new config's script, with no apply of it before: the leftovers go with the rest, one of
      // them (mac5) removed by hand already, and the shim's note stays.
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      await shellIn(lab, 'node1', 'ip -n ns5 link del dev mac5 && ip -n ns8 link add v8a type veth peer name v8b');
      lab.installScripts(second.scripts);
      const direct = await lab.runScript('node1', ['teardown']);
      expect(direct.status, direct.stdout + direct.stderr).toBe(0);
      expect(direct.stdout).toContain('  = ns5: mac5 was gone already (ip said so above)\n');
      for (const n of dropped.filter((n) => n !== 8)) expect(direct.stdout).toContain(`  + ip netns del ns${n}\n`);
      expect(direct.stdout).toMatch(/^ {2}note: namespace ns8 stays: besides what apply made it holds (v8a, v8b|v8b, v8a); ip netns del ns8 once nobody needs it\n/m);
      expect(await namespaces()).toEqual(['ns8']);
      await shellIn(lab, 'node1', 'ip netns del ns8');
      expect(record()).toBe('promisc ens160\nlink /mac0\n');
      lab.installScripts(first.scripts);
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    } finally {
      lab.remove();
    }
  });

  describe('the guarded host migration', () => {
    it('reverts by itself when the gateway does not answer, and the node is reachable again', async () => {
      const lab = await buildLab(SEED);
      const gateway = (command: string) => execFileSync('ip', ['-n', `${lab.prefix}-gw`, ...command.split(' ')]);
      try {
        expect((await lab.runScript('node2', ['apply'])).status).toBe(0);
        gateway('addr del 192.168.1.1/16 dev lan0');
        const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
        expect(apply.status).toBe(5);
        expect(apply.stderr).toContain('host migration reverted: 192.168.1.1 did not answer within 3s; the host address is back on ens160');
        expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
        const state = await nodeState(lab, 'node1');
        expect(state).toContain('default via 192.168.1.1 dev ens160');
        expect(state).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
        // With the gateway back, the matrix is that of the node with its host address on the parent.
        gateway('addr add 192.168.1.1/16 dev lan0');
        const [onParent] = labStages(SEED, true).filter((stage) => stage.name === 'default-routes');
        const expectations = expectReachability(buildTopology(buildPlan(onParent?.config ?? SEED), lab.prefix));
        const results = await lab.probe(expectations);
        expect(results.filter((r) => !r.asExpected)).toEqual([]);
      } finally {
        lab.remove();
      }
    });

    it('reverts when a configured probe does not answer', async () => {
      const lab = await buildLab(withNode1Shim('      probes: [192.168.1.1, 192.168.1.250]\n'));
      try {
        const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
        expect(apply.status).toBe(5);
        expect(apply.stderr).toContain('host migration reverted: 192.168.1.250 did not answer within 3s');
        expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
      } finally {
        lab.remove();
      }
    });

    it('waits for confirm: without it the migration reverts, and a second apply meanwhile is refused', async () => {
      const lab = await buildLab(withNode1Shim('      confirmTimeout: 10\n'));
      try {
        const apply = await lab.runScript('node1', ['apply'], FAST_PROBES);
        expect(apply.status).toBe(0);
        expect(apply.stdout).toContain('192.168.1.1 answered. Within 10s, from a NEW session, run: node1.sh confirm');
        const during = await nodeState(lab, 'node1');
        const concurrent = await lab.runScript('node1', ['apply']);
        expect(concurrent.status).toBe(4);
        expect(concurrent.stderr).toMatch(/another run \(pid \d+\) is working on this node/);
        expect(await nodeState(lab, 'node1')).toBe(during);
        await new Promise((resolve) => setTimeout(resolve, 12_000));
        const state = await nodeState(lab, 'node1');
        expect(state).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
        expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
        expect((await lab.runScript('node1', ['confirm'])).stderr).toContain('nothing to confirm: no host migration is waiting (status: reverted: no confirm within 10s)');
      } finally {
        lab.remove();
      }
    });

    it('survives the hangup of the session that started it', async () => {
      const lab = await buildLab(withNode1Shim('      confirmTimeout: 10\n'));
      try {
        const runDir = `/run/${lab.prefix}/run/node1`;
        // A new session stands in for the SSH login; the whole session is hung up while the migration runs.
        const hangup = [
          `setsid bash ${lab.scriptPath('node1')} apply >/dev/null 2>&1 &`,
          'leader=$!',
          // Hung up once the guard runs (it notes itself as the lock's owner), as when the link drops mid-migration.
          `for _ in $(seq 300); do owner=$(cut -d' ' -f1 ${runDir}/node1.lock.owner 2>/dev/null); [ -n "$owner" ] && [ "$owner" != "$leader" ] && break; sleep 0.05; done`,
          'kill -HUP -- "-$leader"',
          // The guard goes on without the session: its probes answer, then it waits for confirm (however loaded the
          // machine, so no fixed sleep).
          `for _ in $(seq 300); do [ "$(cat ${runDir}/node1.migration)" != migrating ] && break; sleep 0.1; done`,
          `cat ${runDir}/node1.migration`,
        ].join('\n');
        const run = await lab.runInNode('node1', ['bash', '-c', hangup], FAST_PROBES);
        expect(run.stdout).toBe('awaiting-confirm\n');
        expect((await lab.runScript('node1', ['confirm'])).status).toBe(0);
        expect((await lab.runScript('node1', ['verify'])).stdout).toContain('  ok    the host address 192.168.179.9/16 is on mac0\n');
      } finally {
        lab.remove();
      }
    });

    it('keeps the migration once confirmed, and rollback puts it back by hand', async () => {
      const config = withNode1Shim('      confirmTimeout: 10\n');
      const lab = await buildLab(config);
      try {
        expect((await lab.runScript('node1', ['apply'], FAST_PROBES)).status).toBe(0);
        const confirm = await lab.runScript('node1', ['confirm']);
        expect(confirm.stdout).toBe('Confirmed: the host address 192.168.179.9/16 stays on mac0.\n');
        await new Promise((resolve) => setTimeout(resolve, 11_000));
        expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
        await Promise.all(['node2'].map((node) => lab.runScript(node, ['apply'])));
        const results = await lab.probe(expectReachability(lab.topology));
        expect(results.filter((r) => !r.asExpected)).toEqual([]);

        const rollback = await lab.runScript('node1', ['rollback']);
        expect(rollback.status).toBe(0);
        expect(rollback.stdout).toContain('Rolled back: the host address 192.168.179.9/16 is back on ens160.');
        expect(await nodeState(lab, 'node1')).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
        expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
      } finally {
        lab.remove();
      }
    });
  });

  describe('refusals: each says why, exits 3 and changes nothing', () => {
    let lab: EmulatedLab;
    beforeAll(async () => {
      lab = await buildLab(SEED);
    });
    afterAll(() => lab.remove());

    async function expectRefusal(node: string, message: string, args: string[] = ['apply']): Promise<void> {
      const before = await nodeState(lab, node);
      const run = await lab.runScript(node, args);
      expect(run.status, run.stdout).toBe(3);
      expect(run.stderr).toContain(message);
      expect(await nodeState(lab, node)).toBe(before);
    }

    it('a missing parent NIC', async () => {
      const wrong = await buildLab(SEED, configOf(SEED_TEXT.replaceAll('parent: ens160', 'parent: eth9')));
      try {
        const before = await nodeState(wrong, 'node1');
        const run = await wrong.runScript('node1', ['apply']);
        expect(run.status).toBe(3);
        expect(run.stderr).toBe("node1.sh: error: preflight: parent NIC eth9 does not exist on this node; check the config against 'ip link'\n");
        expect(await nodeState(wrong, 'node1')).toBe(before);
      } finally {
        wrong.remove();
      }
    });

    it('a parent NIC that is down', async () => {
      await inNode(lab, 'node2', 'ip link set dev ens160 down');
      await expectRefusal('node2', 'preflight: parent NIC ens160 is down; bring it up first (this script never changes that)');
      await inNode(lab, 'node2', 'ip link set dev ens160 up');
    });

    it('an interface of the same name that is not our macvlan', async () => {
      await inNode(lab, 'node2', 'ip link add mac1 type veth peer name mac1-peer');
      await expectRefusal('node2', 'preflight: interface mac1 exists on this node but is not a bridge-mode macvlan on ens160; remove or rename it');
      await inNode(lab, 'node2', 'ip link del mac1');
    });

    it('a route on the parent that the host migration would lose, unless forced', async () => {
      await inNode(lab, 'node1', 'ip route add 10.99.0.0/16 via 192.168.1.254 dev ens160');
      await expectRefusal('node1', 'preflight: the host migration would lose this route through ens160: 10.99.0.0/16 via 192.168.1.254 dev ens160 (');
      const forced = await lab.runScript('node1', ['apply', '--force']);
      expect(forced.status, forced.stderr).toBe(0);
      expect(await nodeState(lab, 'node1')).not.toContain('10.99.0.0/16');
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      // Teardown gives back what the forced migration took.
      expect(await nodeState(lab, 'node1')).toContain('10.99.0.0/16 via 192.168.1.254 dev ens160');
    });

    it('an MTU above the parent NIC\'s', async () => {
      const jumbo = await buildLab(SEED, configOf(SEED_TEXT.replace('address: 192.168.179.14/16', 'address: 192.168.179.14/16\n        mtu: 9000')));
      try {
        const run = await jumbo.runScript('node2', ['apply']);
        expect(run.status).toBe(3);
        expect(run.stderr).toContain('preflight: ns1: MTU 9000 of mac1 is above the MTU 1500 of ens160');
      } finally {
        jumbo.remove();
      }
    });

    it('the script of another node', async () => {
      const other = await buildLab(SEED);
      try {
        const script = await other.runInNode('node1', ['bash', other.scriptPath('node2'), 'apply']);
        expect(script.status).toBe(3);
        expect(script.stderr).toContain('preflight: the host address 192.168.179.10/16 is not on this node: is this really node2?');
      } finally {
        other.remove();
      }
    });
  });
});

describe.skipIf(!isRoot)('docs transcripts', () => {
  it.each(['seed', 'seed-dual-stack', 'shim-keeps-address', 'dns', 'several-addresses'])('docs/generated/lab/%s holds exactly the transcripts and staged matrices the lab records today (npm run docs:record)', async (example) => {
    const text = readFileSync(path.join(ROOT, 'examples', `${example}.yaml`), 'utf8');
    const recorded = await recordLab(configOf(text), sha256(text), () => undefined);
    const dir = path.join(ROOT, 'docs', 'generated', 'lab', example);
    expect(readdirSync(dir).sort()).toEqual(recorded.map((file) => file.name).sort());
    for (const file of recorded) expect(readFileSync(path.join(dir, file.name), 'utf8'), file.name).toBe(file.content);
  });
});
