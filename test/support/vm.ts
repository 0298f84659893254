// The VM test bench: the generated scripts on real machines. Each node is a Debian VM under qemu, systemd as PID 1,
// udev, ifupdown and a vmxnet3 NIC named ens160, plugged into the lab's own LAN (switch, gateway router, outside
// client, LAN neighbour), whose namespaces carry the lab's prefix: nothing touches the host's namespace, and
// `macvlan-gen lab clean` removes a bench left behind. The bench logs in over SSH from the LAN neighbour's
// namespace, as an operator on the LAN would.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GATEWAY, LAB_PREFIX, SWITCH, WATCHER, labPaths, lanSetupLines, pingAllScript, probeCommand } from '../../src/lab/commands.js';
import { removeLab } from '../../src/lab/emulated-lab.js';
import type { Expectation } from '../../src/lab/expect.js';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import type { Plan } from '../../src/plan/plan.js';
import { runProcess, startProcess, type ProcessResult, type StartedProcess } from '../../src/process.js';
import { shq } from '../../src/render/shq.js';
import { ROOT } from './cli.js';
import { normalizeState } from './lab.js';

const IMAGE_SCRIPT = path.join(ROOT, 'test', 'vm', 'image.sh');
const COMMANDS = ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mke2fs', 'ssh', 'scp', 'ssh-keygen'];
const PACKAGES = 'qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client';

/**
 * What uninstall --teardown (and teardown, but for the script's log and lock) must leave as it found it: links (with
 * promiscuity), addresses, routes of every table, the namespaces, the parent's ARP and rp_filter settings,
 * macvlan-gen's units, and every file under /etc and /usr/local (by content) and /run/macvlan-gen (by name).
 */
export const VM_STATE = String.raw`
ip -d link show; ip -d addr show; ip route show table all; ip rule show; ip neigh show nud permanent; ip netns list
for key in arp_ignore arp_announce arp_notify rp_filter promote_secondaries; do echo "ens160 $key $(cat /proc/sys/net/ipv4/conf/ens160/$key)"; done
systemctl list-units --all --plain --no-legend 'macvlan-gen*'; systemctl list-unit-files --no-legend 'macvlan-gen*'
find /etc /usr/local -xdev -type f -print0 | sort -z | xargs -0 sha256sum
find /etc /usr/local -xdev -type l -printf '%p -> %l\n' | sort
find /run/macvlan-gen 2>/dev/null | sort
`;

/** How long a VM may take from power-on (or reboot) until it answers SSH: TCG boots in ~20 s on an idle machine. */
const BOOT_SECONDS = 240;
const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
  '-o', 'ConnectTimeout=5', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=6'];

const onPath = (command: string): boolean =>
  (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, command)));

/** Why the bench cannot run on this machine, or undefined when it can. */
export function whyNoVms(): string | undefined {
  if (process.getuid?.() !== 0) return 'the VM bench needs root (network namespaces and tap devices)';
  const missing = COMMANDS.filter((command) => !onPath(command));
  if (missing.length > 0) return `the VM bench needs ${missing.join(', ')}: apt-get install ${PACKAGES}`;
  if (!existsSync('/dev/net/tun')) return 'the VM bench needs /dev/net/tun for the VMs\' NICs';
  return undefined;
}

export interface VmImage {
  dir: string;
  kernel: string;
  initrd: string;
  disk: string;
  key: string;
  /** Seconds the build took; 0 when the cached image was used. */
  builtSeconds: number;
}

/** Where the image is kept: under the sha256 of the script that builds it (its package list and settings). */
export function imageDir(): string {
  const base = process.env['MACVLAN_GEN_VM_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache'), 'macvlan-gen', 'vm');
  const key = createHash('sha256').update(readFileSync(IMAGE_SCRIPT)).digest('hex').slice(0, 16);
  return path.join(base, `debian-${key}`);
}

/** The cached image, built first when there is none (about a minute and a half, from Debian's packages). */
export async function ensureImage(): Promise<VmImage> {
  const dir = imageDir();
  const image = (builtSeconds: number): VmImage => ({
    dir, builtSeconds, kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), disk: path.join(dir, 'root.img'), key: path.join(dir, 'id_ed25519'),
  });
  if (existsSync(path.join(dir, 'root.img'))) return image(0);
  const started = Date.now();
  mkdirSync(path.dirname(dir), { recursive: true });
  const building = `${dir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const result = await runProcess('bash', [IMAGE_SCRIPT, building]);
  if (result.status !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`building the VM image failed (${IMAGE_SCRIPT}):\n${(result.stderr + result.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  renameSync(building, dir);
  return image((Date.now() - started) / 1000);
}

/**
 * KVM where it works, else TCG. A working KVM boots the kernel to its panic (no root file system given) in a second
 * or two; a nested one here hangs right after the kernel's decompressor, so the probe gives it 15 s. Set
 * MACVLAN_GEN_VM_ACCEL=kvm or tcg to skip the probe.
 */
export async function chooseAccel(image: VmImage, workDir: string): Promise<'kvm' | 'tcg'> {
  const forced = process.env['MACVLAN_GEN_VM_ACCEL'];
  if (forced === 'kvm' || forced === 'tcg') return forced;
  if (!existsSync('/dev/kvm')) return 'tcg';
  const consoleFile = path.join(workDir, 'kvm-probe.console');
  const qemu = startProcess('qemu-system-x86_64', ['-accel', 'kvm', '-m', '256', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', image.kernel, '-append', 'console=ttyS0 panic=-1', '-serial', `file:${consoleFile}`]);
  const panicked = (): boolean => existsSync(consoleFile) && readFileSync(consoleFile, 'utf8').includes('Kernel panic');
  for (let waited = 0; waited < 150 && !panicked(); waited++) await sleep(100);
  const works = panicked();
  await qemu.stop('SIGKILL');
  return works ? 'kvm' : 'tcg';
}

/** Where the guest finds the project disk's contents once mounted: `node` and the project in `app/`. */
export const PROJECT_MOUNT = '/opt/macvlan-gen';

/**
 * The built project as `npm install` leaves it for a user (dist, templates, examples, schema, package.json and the
 * production dependencies, from package-lock.json) plus this machine's node binary (it needs only glibc 2.28), on
 * an ext4 image made by `mke2fs -d`, nothing mounted on the host: a VM mounts it read-only at PROJECT_MOUNT and runs
 * the CLI from it. Returns the image's path.
 */
export async function projectDisk(workDir: string): Promise<string> {
  const tree = path.join(workDir, 'project-tree');
  const app = path.join(tree, 'app');
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const dependencies = Object.entries(lock.packages)
    .filter(([key, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && entry.dev !== true && entry.devOptional !== true)
    .map(([key]) => key)
    .filter((key) => existsSync(path.join(ROOT, key)));
  mkdirSync(app, { recursive: true });
  const copies = [
    `cp -- ${shq(realpathSync(process.execPath))} ${shq(path.join(tree, 'node'))}`,
    `cp -a -- ${['dist', 'templates', 'examples', 'schema', 'package.json'].map((entry) => shq(path.join(ROOT, entry))).join(' ')} ${shq(app)}`,
    ...dependencies.map((key) => `mkdir -p -- ${shq(path.dirname(path.join(app, key)))} && cp -a -- ${shq(path.join(ROOT, key))} ${shq(path.join(app, key))}`),
  ];
  await bash(copies.join('\n'), 'copying the project for the VM');
  const disk = path.join(workDir, 'project.img');
  const used = await runProcess('du', ['-s', '--block-size=1M', tree]);
  const megabytes = Math.ceil(Number(used.stdout.split('\t')[0]) * 1.3) + 64;
  await bash(`mke2fs -q -t ext4 -L macvlan-gen -d ${shq(tree)} ${shq(disk)} ${megabytes}M`, 'making the project disk');
  rmSync(tree, { recursive: true, force: true });
  return disk;
}

export interface Vm {
  name: string;
  /** The host address the bench logs in at (it stays the same whichever interface holds it). */
  ip: string;
  console: string;
  qemu: StartedProcess;
}

/** qemu's NIC models with a Linux driver: vmxnet3 is what the seed's VMware nodes have. */
export type Nic = 'vmxnet3' | 'virtio-net-pci';

export interface VmOptions {
  /** Each node's NIC model (default vmxnet3); udev names it ens160 whichever it is. */
  nics?: Record<string, Nic>;
  memoryMiB?: number;
  /** Further disks (raw images), attached read-only after the root disk: /dev/vdb, /dev/vdc, ... in the guest. */
  readOnlyDisks?: string[];
  /**
   * Where the bench differs from the lab's model of the config (see test/vm/vlans.test.ts): the LAN is built from
   * what this returns, and probe() pings its endpoints.
   */
  topology?: (lab: Topology) => Topology;
}

function newPrefix(): string {
  for (;;) {
    const prefix = `${LAB_PREFIX}-vm${randomBytes(3).toString('hex')}`;
    if (!existsSync(labPaths(prefix).dir)) return prefix;
  }
}

async function bash(script: string, what: string): Promise<void> {
  const result = await runProcess('bash', ['-c', script]);
  if (result.status !== 0) throw new Error(`${what} failed: ${result.stderr.trim()}`);
}

/** `npm run docs:record:vm` sets it: the VM tests then write the docs' transcripts instead of checking them. */
export const RECORDING = process.env['MACVLAN_GEN_VM_RECORD'] === '1';

/**
 * Records a transcript for the docs, or checks that the recorded one still says what this run said: a change to the
 * script shows up as a stale page, not as silent drift.
 */
export function transcriptForDocs(dir: string, name: string, content: string): void {
  const recorded = path.join(dir, name);
  if (RECORDING) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(recorded, content);
    return;
  }
  expect(existsSync(recorded), `${recorded} is missing: run npm run docs:record:vm`).toBe(true);
  expect(content, `${recorded} is stale: run npm run docs:record:vm`).toBe(readFileSync(recorded, 'utf8'));
}

/**
 * Runs node.sh on a VM with the arguments as the operator would; with `transcript`, what they saw goes to (or is
 * checked against) that file in `dir`, as `lab record` writes it.
 */
export async function runNodeScript(
  bench: VmBench,
  node: string,
  args: readonly string[],
  docs?: { dir: string; transcript: string },
): Promise<{ status: number | null; stdout: string; stderr: string; output: string }> {
  const result = await bench.ssh(node, `cd /root && ./${node}.sh ${args.join(' ')}`, 300);
  const exit = result.status === 0 ? '' : `[exit ${String(result.status ?? result.signal)}]\n`;
  const output = `${result.stdout}${result.stderr}`;
  if (docs !== undefined) transcriptForDocs(docs.dir, docs.transcript, `$ sudo ./${node}.sh ${args.join(' ')}\n${output}${exit}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output };
}

export class VmBench {
  readonly vms = new Map<string, Vm>();
  private closed = false;

  private constructor(
    readonly topology: Topology,
    readonly image: VmImage,
    readonly accel: 'kvm' | 'tcg',
    readonly workDir: string,
  ) {}

  get prefix(): string {
    return this.topology.prefix;
  }

  /** The LAN of the plan with one booted VM per node, each answering SSH. */
  static async start(plan: Plan, image: VmImage, options: VmOptions = {}): Promise<VmBench> {
    const workDir = mkdtempSync(path.join(process.env['MVG_TEST_TMP'] ?? tmpdir(), 'vm-bench-'));
    const lab = buildTopology(plan, newPrefix());
    const topology = options.topology?.(lab) ?? lab;
    if (topology.watcher === undefined) throw new Error('the bench logs in from the LAN neighbour, and this config leaves it no address');
    const bench = new VmBench(topology, image, await chooseAccel(image, workDir), workDir);
    try {
      await bash(lanSetupLines(topology).join('\n'), `building the bench's LAN ${topology.prefix}`);
      topology.nodes.forEach((node, index) => bench.boot(node.name, index, options));
      await Promise.all([...bench.vms.values()].map((vm) => bench.plugIn(vm)));
      await Promise.all([...bench.vms.keys()].map((name) => bench.waitForBoot(name)));
    } catch (error) {
      await bench.close();
      throw error;
    }
    return bench;
  }

  private boot(name: string, index: number, options: VmOptions): void {
    const node = this.topology.nodes.find((candidate) => candidate.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    const overlay = path.join(this.workDir, `${name}.qcow2`);
    const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', this.image.disk, overlay], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`qemu-img could not make ${overlay}: ${made.stderr}`);
    const ip = node.hostAddress.split('/')[0] ?? '';
    const identity = [`mvg.hostname=${name}`, `mvg.address=${node.hostAddress}`, ...(node.gateway === undefined ? [] : [`mvg.gateway=${node.gateway}`])];
    const mac = `52:54:00:6d:76:${(index + 1).toString(16).padStart(2, '0')}`;
    const consoleFile = path.join(this.workDir, `${name}.console`);
    const qemu = startProcess('nsenter', [`--net=/run/netns/${labPaths(this.prefix).netns(SWITCH)}`, 'qemu-system-x86_64',
      '-name', name, '-accel', this.accel, '-m', String(options.memoryMiB ?? 1024), '-smp', '1',
      '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
      '-kernel', this.image.kernel, '-initrd', this.image.initrd, '-append', ['root=/dev/vda', 'rw', 'console=ttyS0', ...identity].join(' '),
      '-drive', `file=${overlay},if=virtio,format=qcow2`,
      ...(options.readOnlyDisks ?? []).flatMap((disk) => ['-drive', `file=${disk},if=virtio,format=raw,readonly=on`]),
      '-netdev', `tap,id=lan,ifname=${node.port},script=no,downscript=no`, '-device', `${options.nics?.[name] ?? 'vmxnet3'},netdev=lan,mac=${mac}`,
      '-serial', `file:${consoleFile}`]);
    this.vms.set(name, { name, ip, console: consoleFile, qemu });
  }

  /** Puts the VM's tap on the switch once qemu has made it. */
  private async plugIn(vm: Vm): Promise<void> {
    const sw = labPaths(this.prefix).netns(SWITCH);
    const port = this.topology.nodes.find((node) => node.name === vm.name)?.port ?? '';
    for (let waited = 0; waited < 100; waited++) {
      const shown = await runProcess('ip', ['-n', sw, 'link', 'show', 'dev', port]);
      if (shown.status === 0) {
        await bash(`ip -n ${shq(sw)} link set ${shq(port)} master br0 up`, `plugging ${vm.name} into the switch`);
        return;
      }
      await this.checkRunning(vm);
      await sleep(100);
    }
    throw new Error(`qemu made no tap ${port} for ${vm.name}`);
  }

  private async checkRunning(vm: Vm): Promise<void> {
    const ended = await Promise.race([vm.qemu.result, sleep(0).then(() => undefined)]);
    if (ended !== undefined) throw new Error(`the VM ${vm.name} stopped (${ended.status ?? ended.signal}): ${ended.stderr.trim()}\n${this.consoleTail(vm.name)}`);
  }

  /** The last lines of a VM's serial console, for failure messages. */
  consoleTail(name: string, lines = 20): string {
    const vm = this.vm(name);
    return existsSync(vm.console) ? readFileSync(vm.console, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no console output)';
  }

  vm(name: string): Vm {
    const vm = this.vms.get(name);
    if (vm === undefined) throw new Error(`no VM ${name}`);
    return vm;
  }

  /** The LAN neighbour's namespace: where the bench's SSH sessions start. */
  private get operatorNetns(): string {
    return `/run/netns/${labPaths(this.prefix).netns(WATCHER)}`;
  }

  /** Runs a shell command on a VM over SSH (its own connection), within the given seconds. */
  ssh(name: string, command: string, seconds = 120): Promise<ProcessResult> {
    const vm = this.vm(name);
    return runProcess('nsenter', [`--net=${this.operatorNetns}`, 'timeout', '--kill-after=5', String(seconds),
      'ssh', '-i', this.image.key, ...SSH_OPTIONS, `root@${vm.ip}`, command]);
  }

  /** The same, throwing with its output when the command fails. */
  async shell(name: string, command: string, seconds = 120): Promise<string> {
    const result = await this.ssh(name, command, seconds);
    if (result.status !== 0) throw new Error(`on ${name}: ${command}\nexit ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  /** Copies local files into a directory of a VM, as an operator carries the generated scripts. */
  async copy(name: string, files: string[], remoteDir: string): Promise<void> {
    const vm = this.vm(name);
    const result = await runProcess('nsenter', [`--net=${this.operatorNetns}`, 'timeout', '60',
      'scp', '-q', '-i', this.image.key, ...SSH_OPTIONS, ...files, `root@${vm.ip}:${remoteDir}/`]);
    if (result.status !== 0) throw new Error(`copying ${files.join(', ')} to ${name} failed: ${result.stderr}`);
  }

  /** Copies a directory of a VM into a local directory, where it lands under its own name; returns that path. */
  async fetch(name: string, remoteDir: string, localDir: string): Promise<string> {
    const vm = this.vm(name);
    mkdirSync(localDir, { recursive: true });
    const result = await runProcess('nsenter', [`--net=${this.operatorNetns}`, 'timeout', '60',
      'scp', '-q', '-r', '-i', this.image.key, ...SSH_OPTIONS, `root@${vm.ip}:${remoteDir}`, localDir]);
    if (result.status !== 0) throw new Error(`copying ${remoteDir} from ${name} failed: ${result.stderr}`);
    return path.join(localDir, path.basename(remoteDir));
  }

  /**
   * Waits until the VM (booted anew, when given the boot id it had) answers SSH and systemd has finished starting it
   * up: sshd answers before the units ordered before network-online.target, the macvlan unit among them, are done.
   */
  async waitForBoot(name: string, notBootId = ''): Promise<void> {
    const vm = this.vm(name);
    const deadline = Date.now() + BOOT_SECONDS * 1000;
    while (Date.now() < deadline) {
      await this.checkRunning(vm);
      const answer = await this.ssh(name, 'cat /proc/sys/kernel/random/boot_id', 15);
      const bootId = answer.stdout.trim();
      if (answer.status === 0 && bootId !== '' && bootId !== notBootId) {
        const seconds = Math.max(10, Math.round((deadline - Date.now()) / 1000));
        const state = await this.ssh(name, `timeout ${seconds} systemctl is-system-running --wait`, seconds + 10);
        if (/^(running|degraded)$/m.test(state.stdout)) return;
        throw new Error(`${name} did not finish booting: systemctl is-system-running says ${state.stdout.trim() || state.stderr.trim()}`);
      }
      await sleep(1000);
    }
    throw new Error(`${name} did not answer SSH at ${vm.ip} within ${BOOT_SECONDS} s:\n${this.consoleTail(name)}`);
  }

  /** A real reboot (systemd stops every unit, the VM resets, the kernel boots again); back once the boot is done. */
  async reboot(name: string): Promise<void> {
    const before = (await this.shell(name, 'cat /proc/sys/kernel/random/boot_id')).trim();
    await this.ssh(name, 'systemctl reboot', 30);
    await this.waitForBoot(name, before);
  }

  /** Brings the gateway router's LAN link down or up: the gateway disappears from the LAN, the client with it. */
  async gatewayLink(state: 'up' | 'down'): Promise<void> {
    await bash(`ip -n ${shq(labPaths(this.prefix).netns(GATEWAY))} link set lan0 ${state}`, `bringing the gateway ${state}`);
  }

  /** Adds or removes a route on the gateway router, as a network admin would for hosts it reaches only through a node. */
  async gatewayRoute(action: 'add' | 'del', destination: string, via: string): Promise<void> {
    await bash(`ip -n ${shq(labPaths(this.prefix).netns(GATEWAY))} route ${action} ${shq(destination)} via ${shq(via)}`, `${action} the gateway's route to ${destination}`);
  }

  /** Pings every expected pair from its first endpoint, inside the VMs over SSH; which answered. */
  async probe(expectations: Expectation[]): Promise<(Expectation & { actual: boolean })[]> {
    const byId = new Map(this.topology.endpoints.map((endpoint) => [endpoint.id, endpoint]));
    const answers = new Map<string, boolean>();
    await Promise.all([...new Set(expectations.map((e) => e.from))].map(async (sourceId) => {
      const source = byId.get(sourceId);
      if (source === undefined) return;
      const targets = [...new Set(expectations.filter((e) => e.from === sourceId).map((e) => e.ip ?? byId.get(e.to)?.ip ?? ''))];
      let result: ProcessResult;
      if (source.node === undefined) {
        const [command = 'nsenter', ...args] = probeCommand(this.prefix, source, targets, false);
        result = await runProcess(command, args);
      } else {
        const inside = source.netns === undefined ? [] : ['ip', 'netns', 'exec', source.netns];
        result = await this.ssh(source.node, [...inside, 'bash', '-c', pingAllScript(false), 'probe', ...targets].map(shq).join(' '));
      }
      for (const answer of result.stdout.trim().split('\n')) {
        const [ip, verdict] = answer.split(' ');
        answers.set(`${sourceId} ${ip ?? ''}`, verdict === 'ok');
      }
    }));
    return expectations.map((e) => ({ ...e, actual: answers.get(`${e.from} ${e.ip ?? byId.get(e.to)?.ip ?? ''}`) ?? false }));
  }

  /** Powers the VMs off (each qemu by its pid), removes the LAN and the VMs' disks. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.vms.values()].map((vm) => vm.qemu.stop('SIGTERM')));
    removeLab(this.prefix);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** A VM's state as VM_STATE shows it, normalized (interface indexes, MACs, netns ids), to compare before and after. */
export const stateOf = async (bench: VmBench, node: string): Promise<string> => normalizeState(await bench.shell(node, VM_STATE));
