// The fleet rollout (issue 18) for real: `generate --ansible` output run by Debian's ansible-playbook, from the lab's
// LAN neighbour as the controller, against 12 emulated nodes with host migrations, each running Debian's sshd in its
// own namespaces. All converge in batches (1, 10%, 25%), each migration confirmed from a new SSH connection, every node
// verifies and the LAN reaches it; a second run changes nothing; teardown restores every node; a node whose gateway
// probe fails (its switch port passes only its parent's MAC) reverts and the rollout stops after its batch, the summary
// naming the nodes changed, reverted and untouched; a node that the confirming connection cannot reach fails the
// rollout and puts its address back by itself; so does a node whose SSH session ends while apply runs (or during
// verify), which the summary names failed (its state unknown), not untouched. node04's logins print a banner, a
// complaint on stderr and the command itself before running it (as real nodes' dotfiles do): the playbooks must read
// through them. Root only; never skipped in CI.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFromText } from '../../src/pipeline.js';
import { writeOutput } from '../../src/output/write.js';
import { labPaths, WATCHER } from '../../src/lab/commands.js';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { runProcess, type ProcessResult } from '../../src/process.js';
import { buildLab, configOf, FAST_PROBES, nodeState, normalizeState, passOnlyParentMac, withoutCountdowns } from '../support/lab.js';
import { startFleet, type Fleet } from '../support/fleet.js';
import { ROOT } from '../support/cli.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const NODES = Array.from({ length: 12 }, (_, i) => `node${String(i + 1).padStart(2, '0')}`);
const CHATTY = 'node04';
const hostIp = (i: number): string => `192.168.10.${i + 1}`;
const nsIp = (i: number): string => `192.168.20.${i + 1}`;
const FLEET_TEXT = [
  'version: 1',
  'defaults: { mac: auto }',
  'nodes:',
  ...NODES.flatMap((name, i) => [
    `  ${name}:`,
    '    parent: eth0',
    `    address: ${hostIp(i)}/16`,
    '    gateway: 192.168.1.1',
    // node01 waits 15 s for its confirm (the others, run on a terminal, 120 s): the last test lets it run out.
    i === 0 ? '    hostShim: { interface: mac0, confirmTimeout: 15 }' : '    hostShim: { interface: mac0 }',
    '    namespaces:',
    `      ns1: { interface: mac1, address: ${nsIp(i)}/16, gateway: 192.168.1.1 }`,
  ]),
  '',
].join('\n');

/** The lines of the last summary the playbook printed, by outcome: "changed" -> its node names. */
function summaryOf(output: string): Record<string, string[]> {
  const start = output.lastIndexOf('"changed:');
  const lines = output.slice(start).split('\n').slice(0, 5);
  return Object.fromEntries(
    lines.map((line) => {
      const [outcome = '', nodes = ''] = line.trim().replace(/^"|",?$/g, '').split(/:\s*/);
      return [outcome, nodes.split(' ').filter((name) => name !== '')];
    }),
  );
}

/** The PLAY RECAP counters of each host. */
function recapOf(output: string): Map<string, Record<string, number>> {
  const recap = new Map<string, Record<string, number>>();
  for (const match of output.slice(output.lastIndexOf('PLAY RECAP')).matchAll(/^(\S+)\s+: (.*)$/gm)) {
    const counters = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]));
    recap.set(match[1] ?? '', counters);
  }
  return recap;
}

/** `npm run docs:record:fleet` sets it: the runs' output then becomes the docs' transcripts. */
const RECORDING = process.env['MACVLAN_GEN_FLEET_RECORD'] === '1';
const TRANSCRIPTS = path.join(ROOT, 'docs', 'generated', 'ansible');

/**
 * Records what ansible-playbook printed for the docs, or checks that the recorded run ended with the same summary (the
 * order of the nodes within a batch varies from run to run, so the whole text is not compared).
 */
function transcriptForDocs(name: string, output: string): void {
  const recorded = path.join(TRANSCRIPTS, name);
  if (RECORDING) {
    mkdirSync(TRANSCRIPTS, { recursive: true });
    writeFileSync(recorded, output);
    return;
  }
  expect(existsSync(recorded), `${recorded} is missing: run npm run docs:record:fleet`).toBe(true);
  expect(summaryOf(readFileSync(recorded, 'utf8')), `${recorded} is stale: run npm run docs:record:fleet`).toEqual(summaryOf(output));
}

const statusField = (pid: number, name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';

/** The pid of a process running `bash SCRIPT COMMAND` (a raw task's), if one runs. */
function scriptProcess(script: string, command: string): number | undefined {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(-3).join(' ') === `${script} ${command} `;
      } catch {
        return false;
      }
    });
}

/**
 * The pids of the sshd processes of the node's SSH session a process runs in: its ancestors named sshd below the
 * node's listener (which stays). Above the listener are the test's own processes, and maybe the sshd of the login
 * that started the tests: never touched.
 */
function sshdSessionOf(pid: number, listener: number): number[] {
  const sshd: number[] = [];
  for (let ancestor = Number(statusField(pid, 'PPid')); ancestor !== listener; ancestor = Number(statusField(ancestor, 'PPid'))) {
    if (!(ancestor > 1)) throw new Error(`process ${pid} does not run in a session of the sshd listener ${listener}`);
    if (statusField(ancestor, 'Name') === 'sshd') sshd.push(ancestor);
  }
  return sshd;
}

const shown = (result: ProcessResult): string => `${result.stdout.slice(-6000)}\n${result.stderr}`;

describe.skipIf(!isRoot)('fleet rollout through Ansible, 12 emulated nodes with host migrations', () => {
  let lab: EmulatedLab;
  let fleet: Fleet;
  let outDir: string;
  const initial = new Map<string, string>();
  const state = async (node: string): Promise<string> => normalizeState(withoutCountdowns(await nodeState(lab, node)));
  /** A playbook run, with variables in ansible-playbook's environment (its config, as ansible.cfg would set it). */
  const playbookWith = (env: Record<string, string>, name: string, ...args: string[]): Promise<ProcessResult> =>
    fleet.playbook(outDir, ['-i', 'inventory.yml', name, '-e', fleet.scriptDirVars, ...args], env);
  const playbook = (name: string, ...args: string[]): Promise<ProcessResult> => playbookWith({}, name, ...args);
  /** Which of the addresses the controller (the lab's LAN neighbour) does not reach. */
  const unreachedFromController = async (addresses: string[]): Promise<string[]> => {
    const script = 'for ip in "$@"; do ping -n -q -c 1 -W 2 "$ip" >/dev/null 2>&1 || echo "$ip"; done';
    const result = await runProcess('nsenter', [`--net=/run/netns/${labPaths(lab.prefix).netns(WATCHER)}`, 'bash', '-c', script, 'ping', ...addresses]);
    return result.stdout.split('\n').filter((line) => line !== '');
  };

  /** node01, the first batch alone, failed the rollout with a lost connection: exit 2, the fatal message, the summary. */
  const expectNode01Lost = (result: ProcessResult, message: RegExp): void => {
    expect(result.status, shown(result)).toBe(2);
    expect(result.stdout).toContain('fatal: [node01]: UNREACHABLE!');
    expect(result.stdout).toMatch(message);
    expect(summaryOf(result.stdout)).toEqual({ changed: [], unchanged: [], reverted: [], failed: ['node01'], untouched: NODES.slice(1) });
  };
  /** node01's guard, never confirmed, puts its address back (first, and notes why after). */
  const expectNode01Reverted = async (statusFile: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (!readFileSync(statusFile, 'utf8').startsWith('reverted') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(readFileSync(statusFile, 'utf8')).toBe('reverted: no confirm within 15s\n');
    expect(await state('node01')).toContain(`inet ${hostIp(0)}/16 scope global eth0`);
  };

  beforeAll(async () => {
    lab = await buildLab(configOf(FLEET_TEXT));
    fleet = await startFleet(lab, FAST_PROBES, [CHATTY]);
    outDir = mkdtempSync(path.join(tmpdir(), 'mvg-fleet-'));
    const { files } = generateFromText(FLEET_TEXT, 'fleet.yaml', { ansible: true });
    writeOutput(outDir, files.map((file) => file.name), files);
    for (const node of NODES) initial.set(node, await state(node));
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
    lab?.remove();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('rolls out in batches of 1, 10% and 25%: every node changed, its migration confirmed from a new connection, verified and reachable', async () => {
    const result = await playbook('rollout.yml');
    expect(result.status, shown(result)).toBe(0);
    const batches = result.stdout.split('PLAY [Roll out the macvlan-gen node scripts in batches]').slice(1);
    expect(batches.map((batch) => NODES.filter((node) => batch.includes(`changed: [${node}]`)).length)).toEqual([1, 1, 3, 3, 3, 1]);
    expect(summaryOf(result.stdout)).toEqual({ changed: NODES, unchanged: [], reverted: [], failed: [], untouched: [] });
    transcriptForDocs('rollout.txt', result.stdout);
    // The chatty node's banner, complaint and echoed command came with its answers (a raw task's terminal merges stderr).
    expect(result.stdout).toContain(`"Welcome to ${CHATTY} (a login banner)",`);
    expect(result.stdout).toContain(`"${CHATTY}: a dotfile complains",`);
    expect(result.stdout).toMatch(new RegExp(`"bash \\S+/${CHATTY}\\.sh plan",`));
    for (const [i, node] of NODES.entries()) {
      expect(result.stdout).toContain(`from a NEW session, run: ${node}.sh confirm`);
      // The confirm came over a second SSH connection: the one that applied was closed first.
      const log = readFileSync(path.join(fleet.dir, node, 'sshd.log'), 'utf8');
      expect(log.match(/Accepted publickey for root/g)?.length, node).toBeGreaterThanOrEqual(2);
      expect(await state(node)).toContain(`inet ${hostIp(i)}/16 scope global mac0`);
      const verify = await lab.runScript(node, ['verify']);
      expect(verify.status, verify.stdout).toBe(0);
      expect(readFileSync(path.join(fleet.scriptDir(node), `${node}.sh`), 'utf8')).toBe(readFileSync(path.join(outDir, `${node}.sh`), 'utf8'));
    }
    expect(await unreachedFromController([...NODES.map((_, i) => hostIp(i)), ...NODES.map((_, i) => nsIp(i))])).toEqual([]);
  }, 600_000);

  it('run again on the converged fleet: every node ok, nothing changed', async () => {
    const result = await playbook('rollout.yml');
    expect(result.status, shown(result)).toBe(0);
    expect(summaryOf(result.stdout)).toEqual({ changed: [], unchanged: NODES, reverted: [], failed: [], untouched: [] });
    transcriptForDocs('rollout-again.txt', result.stdout);
    const recap = recapOf(result.stdout);
    for (const node of NODES) expect(recap.get(node), `${node}\n${shown(result)}`).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
  }, 600_000);

  it('--tags all,install keeps each node across reboots (its own tree); again, it changes nothing', async () => {
    const unit = (node: string): string => path.join(lab.fsRoot(node), 'etc/systemd/system', `macvlan-gen-${node}.service`);
    const result = await playbook('rollout.yml', '--tags', 'all,install');
    expect(result.status, shown(result)).toBe(0);
    expect(summaryOf(result.stdout)).toMatchObject({ unchanged: NODES });
    const recap = recapOf(result.stdout);
    for (const node of NODES) {
      expect(recap.get(node), `${node}\n${shown(result)}`).toMatchObject({ changed: 1, failed: 0 });
      expect(existsSync(unit(node)), node).toBe(true);
    }
    const again = await playbook('rollout.yml', '--tags', 'all,install');
    for (const node of NODES) expect(recapOf(again.stdout).get(node), `${node}\n${shown(again)}`).toMatchObject({ changed: 0, failed: 0 });
  }, 600_000);

  it('teardown --tags all,uninstall restores every node as it was; run again, it changes nothing', async () => {
    const result = await playbook('teardown.yml', '--tags', 'all,uninstall');
    for (const node of NODES) expect(existsSync(path.join(lab.fsRoot(node), 'etc/systemd/system', `macvlan-gen-${node}.service`)), node).toBe(false);
    expect(result.status, shown(result)).toBe(0);
    for (const node of NODES) expect(await state(node), node).toBe(initial.get(node));
    expect(await unreachedFromController(NODES.map((_, i) => hostIp(i)))).toEqual([]);
    const again = await playbook('teardown.yml');
    expect(again.status, shown(again)).toBe(0);
    const recap = recapOf(again.stdout);
    for (const node of NODES) expect(recap.get(node), `${node}\n${shown(again)}`).toMatchObject({ changed: 0, failed: 0 });
  }, 600_000);

  it('a node whose gateway probe fails reverts (exit 5) and the rollout stops after its batch; teardown then restores the changed ones', async () => {
    // node05 is in the third batch (node03, node04, node05): its switch port passes only its parent's MAC.
    await passOnlyParentMac(lab, 'node05');
    const result = await playbook('rollout.yml');
    expect(result.status, shown(result)).toBe(2);
    expect(result.stdout).toContain('TASK [Summary of the stopped rollout]');
    expect(result.stdout).not.toContain('PLAY [Summary of the rollout]');
    expect(result.stdout).toMatch(/fatal: \[node05\]: FAILED! => .*"msg": "reverted: Apply: /);
    expect(summaryOf(result.stdout)).toEqual({
      changed: ['node01', 'node02', 'node03', 'node04'],
      unchanged: [],
      reverted: ['node05'],
      failed: [],
      untouched: NODES.slice(5),
    });
    transcriptForDocs('rollout-stopped.txt', result.stdout);
    expect(await state('node05')).toContain(`inet ${hostIp(4)}/16 scope global eth0`);
    for (const node of NODES.slice(5)) expect(await state(node), node).toBe(initial.get(node));

    const teardown = await playbook('teardown.yml');
    expect(teardown.status, shown(teardown)).toBe(0);
    for (const node of NODES) expect(await state(node), node).toBe(initial.get(node));
  }, 600_000);

  it('a node whose SSH connection breaks while apply runs is named failed, not untouched, and its guard puts the address back; so is one whose connection breaks during verify', async () => {
    const statusFile = path.join(labPaths(lab.prefix).runDir('node01'), 'node01.migration');
    const logFile = path.join(labPaths(lab.prefix).runDir('node01'), 'node01.log');
    rmSync(statusFile, { force: true });
    const logged = existsSync(logFile) ? readFileSync(logFile, 'utf8').length : 0;
    // With SSH retries set, as an operator may for flaky links: apply is not run again on the broken connection.
    const rollout = playbookWith({ ANSIBLE_SSH_RETRIES: '3' }, 'rollout.yml');
    // Once the guard moves the address, apply waits for it on the connection that runs it (the guard's announcement
    // alone takes a second): end that connection's sshd processes (not the node's listener), as a flaky link or a
    // dying jump host would. (Ended sooner, apply may die before its guard starts: then nothing moves, and the
    // summary is the same.)
    const deadline = Date.now() + 120_000;
    while (!(existsSync(logFile) && readFileSync(logFile, 'utf8').slice(logged).includes('migration: moving')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const script = path.join(fleet.scriptDir('node01'), 'node01.sh');
    const applying = scriptProcess(script, 'apply');
    if (applying === undefined) throw new Error(`node01 runs no apply while its guard moves the address:\n${shown(await rollout)}`);
    const sessions = sshdSessionOf(applying, fleet.listenerPid('node01'));
    expect(sessions.length).toBeGreaterThan(0);
    for (const pid of sessions) process.kill(pid, 'SIGKILL');
    const result = await rollout;
    expectNode01Lost(result, /"msg": "failed: The connection that applied held: the SSH connection to 192\.168\.10\.1 broke while apply ran/);
    transcriptForDocs('rollout-connection-lost.txt', result.stdout);
    // Nobody confirms: the guard puts the address back by itself.
    await expectNode01Reverted(statusFile);

    // Again, the connection breaking during verify this time: node01 was changed and confirmed, and is named failed.
    const again = playbook('rollout.yml');
    const verifyDeadline = Date.now() + 120_000;
    let verifying: number | undefined;
    while ((verifying = scriptProcess(script, 'verify')) === undefined && Date.now() < verifyDeadline) await new Promise((resolve) => setTimeout(resolve, 10));
    if (verifying === undefined) throw new Error(`node01 ran no verify within 120 s:\n${shown(await again)}`);
    // Held still while its connection ends, then let go to meet the hangup.
    process.kill(verifying, 'SIGSTOP');
    try {
      const sessions = sshdSessionOf(verifying, fleet.listenerPid('node01'));
      expect(sessions.length).toBeGreaterThan(0);
      for (const pid of sessions) process.kill(pid, 'SIGKILL');
    } finally {
      process.kill(verifying, 'SIGCONT');
    }
    expectNode01Lost(await again, /"msg": "failed: The node answered verify: the SSH connection to 192\.168\.10\.1 broke during verify, after apply/);
    expect(await state('node01')).toContain(`inet ${hostIp(0)}/16 scope global mac0`);
    // teardown then removes what the two applies made.
    const teardown = await playbook('teardown.yml');
    expect(teardown.status, shown(teardown)).toBe(0);
    for (const node of NODES) expect(await state(node), node).toBe(initial.get(node));
  }, 600_000);

  it('a node the confirming connection cannot reach fails the rollout in its batch, and puts its address back by itself', async () => {
    const statusFile = path.join(labPaths(lab.prefix).runDir('node01'), 'node01.migration');
    rmSync(statusFile, { force: true });
    const rollout = playbook('rollout.yml');
    // Once node01's guard waits for the confirm, its sshd takes no new connection (the one that applied goes on).
    const deadline = Date.now() + 120_000;
    while (!(existsSync(statusFile) && readFileSync(statusFile, 'utf8').startsWith('awaiting-confirm')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await fleet.stopListening('node01');
    const result = await rollout;
    expectNode01Lost(result, /"msg": "failed: The new connection reached the node: no new SSH connection to 192\.168\.10\.1 after the migration, so no confirm/);
    transcriptForDocs('rollout-unreachable.txt', result.stdout);
    await expectNode01Reverted(statusFile);
  }, 600_000);
});
