// The script's background streams of ip (state reads and namespaces' batches) on a node larger than one command-line
// argument may hold (128 KiB): each stream's program and arguments reach its bash on a file descriptor, and a
// BASH_ENV file is not read there. On a small node the batches run in the script's own shell. A failing batch, in a
// stream or not, says which of its lines ip counts and stops none of the others. A stand-in `ip` on PATH answers;
// nothing touches the machine's network.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderConfig, validateText } from '../../src/pipeline.js';
import { BASH, runScript, tempDir } from '../support/cli.js';

const NAMESPACES = 2000;

/** One dual-stack node with NAMESPACES namespaces of long names: its stream program passes 128 KiB. */
function largeNodeScript(dir: string): string {
  const name = (i: number) => `tenant-${String(i).padStart(5, '0')}-web`;
  const config = {
    version: 1,
    nodes: {
      node1: {
        parent: 'eth0',
        address: ['10.51.0.1/8', '2001:db8::1/64'],
        gateway: '10.0.0.1',
        namespaces: Object.fromEntries(
          Array.from({ length: NAMESPACES }, (_, i) => [
            name(i + 1),
            { interface: `mv${String(i + 1).padStart(5, '0')}`, address: [`10.51.${Math.floor((i + 3) / 250) + 1}.${((i + 3) % 250) + 1}/8`, `2001:db8::1:${(i + 3).toString(16)}/64`] },
          ]),
        ),
      },
    },
  };
  const { scripts } = renderConfig(validateText(stringify(config), 'large.yaml').config, 'test');
  const file = path.join(dir, 'node1.sh');
  writeFileSync(file, scripts[0]?.content ?? '', { mode: 0o755 });
  return file;
}

/**
 * A stand-in ip: `-help` says it takes -n; `-o -d -batch -` prints the parent's line and `-n NS -o -d -batch -` a
 * loopback line, except in the namespace KILL_READ_AT names, where it kills the stream reading it; `-n NS link show dev
 * lo` answers where LO_ANSWERS is set; `-n NS -batch -` prints how
 * many lines of batch it read, except in FAILING, where it fails at the batch's second line the way ip says so, and in
 * the namespace KILL_STREAM_AT names, where it kills the bash that started it (itself, with KILL_SELF). Anything else
 * fails.
 */
const FAILING = 'tenant-00003-web';
function standInIp(dir: string): string {
  const bin = path.join(dir, 'bin');
  const ip = path.join(bin, 'ip');
  mkdirSync(bin);
  writeFileSync(
    ip,
    [
      `#!${BASH}`,
      'if [[ "$1" == -help ]]; then echo "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }  -n[etns] name"; exit 0; fi',
      // A read in KILL_READ_AT kills the stream that runs it (its parent's parent, past the command substitution).
      'if [[ "$1 $3" == "-n -o" && "$2" == "${KILL_READ_AT:-}" ]]; then read -r _ _ _ stream _ </proc/$PPID/stat; kill -9 "${stream}"; exit 1; fi',
      'if [[ "$1" == -n && "$3 $4 $5" == "-o -d -batch" ]]; then cat >/dev/null; echo "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN"; exit 0; fi',
      'if [[ -n "${LO_ANSWERS:-}" && "$1" == -n && "$3 $4 $5 $6" == "link show dev lo" ]]; then exit 0; fi',
      'if [[ "$1 $2 $3" == "-o -d -batch" ]]; then cat >/dev/null; echo "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP"; exit 0; fi',
      `if [[ "$1 $2 $3" == "-n ${FAILING} -batch" ]]; then cat >/dev/null; echo "Command failed -:2" >&2; exit 1; fi`,
      'if [[ -n "${KILL_STREAM_AT:-}" && "$2" == "${KILL_STREAM_AT}" ]]; then if [[ -n "${KILL_SELF:-}" ]]; then kill -9 "$$"; fi; kill -9 "${PPID}"; exit 1; fi',
      'if [[ "$1" == -n && "$3" == -batch ]]; then n=0; while IFS= read -r line; do [[ -z "${line}" ]] || n=$((n + 1)); done; echo "batch for $2: $n lines"; exit 0; fi',
      'echo "stand-in ip: unexpected $*" >&2; exit 1',
    ].join('\n'),
  );
  chmodSync(ip, 0o755);
  return bin;
}

/** Runs bash code after the script's definitions (its last line, `main "$@"`, left out). */
function withScript(script: string, bin: string, code: string, env: NodeJS.ProcessEnv = {}) {
  const dir = path.dirname(script);
  const driver = path.join(dir, 'driver.sh');
  writeFileSync(driver, [`source <(sed '$d' ${JSON.stringify(script)})`, 'set +o errexit', code].join('\n'));
  return runScript(driver, [], { PATH: `${bin}:${process.env['PATH'] ?? ''}`, ...env });
}

describe('background streams on a node larger than one command-line argument', () => {
  let dir = '';
  let script = '';
  let bin = '';
  beforeAll(() => {
    dir = tempDir('streams');
    script = largeNodeScript(dir);
    bin = standInIp(dir);
  });

  it('read every namespace it is given, with a program over 128 KiB, and ignore BASH_ENV', () => {
    const bashEnv = path.join(dir, 'bash-env');
    writeFileSync(bashEnv, 'echo "default via 6.6.6.6 dev evil"\n');
    const run = withScript(
      script,
      bin,
      [
        'MODE=verify',
        'detect_ip_netns_option',
        'prepare_streams',
        'echo "program ${#STREAM_PROGRAM}"',
        'present=("${NAMESPACES[@]:0:12}")',
        'start_state_streams "${present[@]}"',
        'finish_state_streams "${present[@]}"',
        'printf -- "--- states\\n%s\\n" "${NAMESPACE_STATES}"',
      ].join('\n'),
      { BASH_ENV: bashEnv },
    );
    expect(run.stderr).toBe('');
    const program = Number(/^program (\d+)$/m.exec(run.stdout)?.[1]);
    expect(program).toBeGreaterThan(128 * 1024);
    const marks = (run.stdout.split('--- states\n')[1] ?? '').split('\n').filter((line) => line.startsWith('\x1e'));
    expect(marks).toHaveLength(12);
    expect(run.stdout.match(/1: lo: /g)).toHaveLength(12);
    // The driver's own bash read BASH_ENV (its line comes first); the streams' did not.
    const states = run.stdout.split('--- states\n')[1] ?? '';
    expect(run.stdout).toContain('6.6.6.6');
    expect(states).not.toContain('6.6.6.6');
  });

  it('run a namespace batch over 128 KiB, and the other namespaces\' batches in their streams', () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=apply',
        'detect_ip_netns_option',
        'for ((i = 0; i < 4000; i++)); do queue_ip "${NAMESPACES[0]}" route add "10.$((i / 250)).$((i % 250)).0/24" via 10.0.0.1 dev mv00001; done >/dev/null',
        'echo "batch ${#QUEUE[${NAMESPACES[0]}]}"',
        'for netns in "${NAMESPACES[@]:1:8}"; do queue_ip "${netns}" link set dev lo up; done',
        'flush_namespace_queues',
        'echo "status $?"',
      ].join('\n'),
    );
    expect(Number(/^batch (\d+)$/m.exec(run.stdout)?.[1])).toBeGreaterThan(128 * 1024);
    expect(run.stdout).toContain('batch for tenant-00001-web: 4000 lines');
    for (let i = 2; i <= 9; i++) {
      if (`tenant-0000${i}-web` !== FAILING) expect(run.stdout).toContain(`batch for tenant-0000${i}-web: 1 lines`);
    }
    // The stream that ran it names the failed batch's line; the others went on, and the whole fails.
    expect(run.stderr).toContain('Command failed -:2\n  1: link set dev lo up\n');
    expect(run.stderr).toContain(`a command of the batch for ${FAILING} failed (ip names its line -:N among the 1 above); the commands after it did not run`);
    expect(run.stdout).toContain('status 1');
  });

  it('write their program again when the mode or the way to reach a namespace has changed since', () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=apply USE_IP_N=no',
        'prepare_streams',
        'grep -E -o "^declare -[-x] (MODE|USE_IP_N)=.*" <<<"${STREAM_PROGRAM}" | cut -d " " -f 3',
        'MODE=teardown',
        'detect_ip_netns_option',
        'prepare_streams',
        'grep -E -o "^declare -[-x] (MODE|USE_IP_N)=.*" <<<"${STREAM_PROGRAM}" | cut -d " " -f 3',
      ].join('\n'),
    );
    expect(run.stderr).toBe('');
    // (MODE may come exported from the environment: vitest's does.)
    expect(run.stdout).toBe('MODE="apply"\nUSE_IP_N="no"\nMODE="teardown"\nUSE_IP_N="yes"\n');
  });

  it('say which namespaces a stream had when it is killed, and fail', () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=apply',
        'detect_ip_netns_option',
        'for netns in "${NAMESPACES[@]:3:8}"; do queue_ip "${netns}" link set dev lo up; done >/dev/null',
        'flush_namespace_queues',
        'echo "status $?"',
      ].join('\n'),
      { KILL_STREAM_AT: 'tenant-00006-web' },
    );
    // Four streams: the killed one had every fourth namespace, from the sixth; the others ran all of their own.
    expect(run.stderr).toContain(
      'error: the stream running the batches of tenant-00006-web tenant-00010-web was killed (signal 9): some of them may not have run; run driver.sh apply again',
    );
    expect(run.stdout).not.toContain('batch for tenant-00010-web');
    for (const i of [4, 5, 7, 8, 9, 11]) expect(run.stdout).toContain(`batch for tenant-000${String(i).padStart(2, '0')}-web: 1 lines`);
    expect(run.stdout).toContain('status 1');
  });

  it('name an ip killed in a stream as killed, and go on with the stream', () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=apply',
        'detect_ip_netns_option',
        'for netns in "${NAMESPACES[@]:3:8}"; do queue_ip "${netns}" link set dev lo up; done >/dev/null',
        'flush_namespace_queues',
        'echo "status $?"',
      ].join('\n'),
      { KILL_STREAM_AT: 'tenant-00006-web', KILL_SELF: 'yes' },
    );
    expect(run.stderr).toContain('error: the ip running the batch for tenant-00006-web was killed (signal 9): some of its commands may not have run; run driver.sh apply again');
    expect(run.stderr).not.toContain('a command of the batch for tenant-00006-web failed');
    // Its stream went on with the next of its namespaces.
    for (const i of [4, 5, 7, 8, 9, 10, 11]) expect(run.stdout).toContain(`batch for tenant-000${String(i).padStart(2, '0')}-web: 1 lines`);
    expect(run.stdout).toContain('status 1');
  });

  it("in teardown, run each namespace's batch as an ip of its own, and name the one that failed and the one killed", () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=teardown',
        'detect_ip_netns_option',
        'for netns in "${NAMESPACES[@]:0:9}"; do queue_ip "${netns}" link del dev mv1; done >/dev/null',
        'flush_namespace_queues',
        'echo "status $?"',
      ].join('\n'),
      // The ip of the seventh namespace kills itself (its parent is the streams' bash, which must go on).
      { KILL_STREAM_AT: 'tenant-00007-web', KILL_SELF: 'yes' },
    );
    // Nine namespaces, nine ip at once: the failing one's line is named, the killed one is named, the other seven ran.
    expect(run.stderr).toContain('Command failed -:2\n');
    expect(run.stderr).toContain('  1: link del dev mv1\n');
    expect(run.stderr).toContain(`a command of the batch for ${FAILING} failed (ip names its line -:N among the 1 above)`);
    expect(run.stderr).toContain('error: the ip running the batch for tenant-00007-web was killed (signal 9): some of its commands may not have run; run driver.sh teardown again');
    for (const i of [1, 2, 4, 5, 6, 8, 9]) expect(run.stdout).toContain(`batch for tenant-0000${i}-web: 1 lines`);
    expect(run.stdout).toContain('status 1');
  });
});

describe('reading the state of a node whose namespaces are read in streams', () => {
  it('name every namespace a killed read stream leaves unread, and fail', () => {
    const dir = tempDir('killed-read');
    const script = largeNodeScript(dir);
    const bin = standInIp(dir);
    const driver = path.join(dir, 'driver.sh');
    writeFileSync(driver, [`source <(sed '$d' ${JSON.stringify(script)})`, 'set +o errexit', 'MODE=verify', 'read_node_state', 'echo "status $?"'].join('\n'));
    // In a mount namespace of its own, an empty tmpfs on /run holds the entries of the first nine namespaces.
    const entries = Array.from({ length: 9 }, (_, i) => `/run/netns/tenant-0000${i + 1}-web`).join(' ');
    const run = spawnSync('unshare', ['--map-root-user', '--mount', 'bash', '-c', `mount -t tmpfs tmpfs /run && mkdir /run/netns && touch ${entries} && exec bash "$0"`, driver], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, KILL_READ_AT: 'tenant-00002-web', LO_ANSWERS: 'yes' },
    });
    // Four streams: the killed one had the second and sixth namespaces (the ninth is the first's).
    expect(run.stderr).toContain('error: cannot read the state of namespaces tenant-00002-web tenant-00006-web with ip; run driver.sh verify again\n');
    expect(run.stderr).not.toContain('is not a network namespace');
    expect(run.stdout).toContain('status 1');
  });
});

describe('a failing batch on a small node, run in the script\'s own shell', () => {
  let dir = '';
  let script = '';
  let bin = '';
  beforeAll(() => {
    dir = tempDir('failing-batch');
    const { scripts } = renderConfig(validateText(readFileSync('examples/seed.yaml', 'utf8'), 'seed.yaml').config, 'test');
    script = path.join(dir, 'node1.sh');
    writeFileSync(script, scripts[0]?.content ?? '', { mode: 0o755 });
    // A stand-in ip whose batches fail at their second line, the way ip says so, except in namespace ns2.
    bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'ip'),
      [
        `#!${BASH}`,
        'if [[ "$1" == -help ]]; then echo "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }  -n[etns] name"; exit 0; fi',
        'if [[ "$1 $2" == "-n ns2" ]]; then cat >/dev/null; echo "ran the batch for ns2"; exit 0; fi',
        'cat >/dev/null; echo "RTNETLINK answers: File exists" >&2; echo "Command failed -:2" >&2; exit 1',
      ].join('\n'),
      { mode: 0o755 },
    );
  });

  it('lists the batch\'s lines as ip numbers them, runs the other namespaces\' batches and fails', () => {
    const run = withScript(
      script,
      bin,
      [
        'MODE=apply',
        'detect_ip_netns_option',
        'run_batch / $\'link set dev eth0 promisc on\\nnetns add ns1\\nlink add link eth0 name mv1 netns ns1 type macvlan mode bridge\\n\'',
        'echo "node status $?"',
        'queue_ip ns1 addr add 10.0.0.2/8 dev mv1 && queue_ip ns1 link set dev mv1 up && queue_ip ns2 link set dev lo up',
        'flush_namespace_queues',
        'echo "namespaces status $?"',
      ].join('\n'),
    );
    expect(run.stderr).toContain('  1: link set dev eth0 promisc on\n  2: netns add ns1\n  3: link add link eth0 name mv1 netns ns1 type macvlan mode bridge\n');
    expect(run.stderr).toContain('a command of the batch for / failed (ip names its line -:N among the 3 above); the commands after it did not run');
    expect(run.stdout).toContain('node status 1');
    expect(run.stderr).toContain('  2: link set dev mv1 up\n');
    expect(run.stderr).toContain('a command of the batch for ns1 failed (ip names its line -:N among the 2 above)');
    expect(run.stdout).toContain('ran the batch for ns2');
    expect(run.stdout).toContain('namespaces status 1');
  });
});
