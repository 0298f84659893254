// EmulatedLab: one emulated LAN made real in network namespaces, with its nodes' scripts in place. The edge where
// the lab touches the machine: it starts processes and writes the scripts; everything it makes carries its prefix.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError } from '../errors.js';
import type { Plan } from '../plan/plan.js';
import { runProcess, startProcess, type ProcessResult, type StartedProcess } from '../process.js';
import type { Family } from '../ip.js';
import { addressOf, buildTopology, type Endpoint, type Topology } from './topology.js';
import type { Expectation } from './expect.js';
import { cleanupScript, inNode, LAB_PREFIX, labPaths, neighbourFlushScript, probeCommand, setupScript, watchCommand } from './commands.js';
import { MAX_OUTAGE_SECONDS, answerTimes, outageOf, type Outage } from './outages.js';
import type { ProfileName } from './profiles.js';

export interface ProbeResult extends Expectation {
  actual: boolean;
  asExpected: boolean;
}

const PROBE_SOURCES_AT_ONCE = 4;

/** Labs that exist now, removed on Ctrl-C or kill as well. */
const live = new Set<string>();
let signalsHandled = false;

function removeLiveLabsAndExit(signal: NodeJS.Signals): void {
  for (const prefix of live) removeLab(prefix);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function handleSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  process.on('SIGINT', removeLiveLabsAndExit).on('SIGTERM', removeLiveLabsAndExit);
}

export function removeLab(prefix: string): void {
  spawnSync('bash', ['-c', cleanupScript(prefix)], { stdio: 'ignore' });
}

/** Prefixes of labs present on this machine (left by --keep, or by a run that was killed). */
export function listLabs(): string[] {
  const names = [...(existsSync('/run/netns') ? readdirSync('/run/netns') : []), ...readdirSync('/run')];
  const prefixes = names.map((name) => new RegExp(`^(${LAB_PREFIX}-[a-z0-9]+)`).exec(name)?.[1]).filter((p): p is string => p !== undefined);
  return [...new Set(prefixes)].sort();
}

function newPrefix(): string {
  for (;;) {
    const prefix = `${LAB_PREFIX}-${randomBytes(3).toString('hex')}`;
    if (!existsSync(labPaths(prefix).dir)) return prefix;
  }
}

async function bash(script: string, what: string): Promise<void> {
  const result = await runProcess('bash', ['-c', script]);
  if (result.status !== 0) throw new EnvironmentError(`${what} failed: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
}

async function mapLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(workers);
}

/**
 * How many sources may probe before every neighbour cache is emptied, or undefined when all of them fit and the
 * caches stay warm, as on a real LAN. All namespaces share the kernel's one neighbour table (gc_thresh3 entries,
 * 1024 by default); each probing source adds about two entries per target, the LAN neighbour two per endpoint it
 * watches, and entries younger than 5 seconds cannot be reclaimed, so a large lab would overflow it and lose pings.
 */
function sourcesPerFlush(sources: number, endpoints: number, watched: number): number | undefined {
  let limit = 1024;
  try {
    limit = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8').trim()) || limit;
  } catch {
    // Keep the kernel's default.
  }
  const perFlush = Math.max(1, Math.floor((limit - 2 * watched) / (2 * Math.max(1, endpoints))));
  return sources <= perFlush ? undefined : perFlush;
}

const WATCH_POLL_MS = 100;

/** What the LAN neighbour pings: an endpoint at its address of one family. */
export interface WatchTarget {
  id: string;
  ip: string;
}

/** The lab's LAN neighbour pinging endpoints until stopped; the outages it saw. */
export class LanWatch {
  private readonly start = Date.now() / 1000;
  private stopped = false;

  constructor(private readonly pings: { target: WatchTarget; ping: StartedProcess }[]) {}

  /** How many endpoints it pings now. */
  get watching(): number {
    return this.stopped ? 0 : this.pings.length;
  }

  /** Waits, at most `seconds`, until every watched endpoint that has gone silent answers again. */
  async untilAnswering(seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    const silent = (): boolean =>
      this.pings.some(({ ping }) => Date.now() / 1000 - (answerTimes(ping.stdoutSoFar()).at(-1) ?? this.start) > MAX_OUTAGE_SECONDS);
    while (silent() && Date.now() < deadline) await sleep(WATCH_POLL_MS);
  }

  async stop(): Promise<Outage[]> {
    this.stopped = true;
    const end = Date.now() / 1000;
    const outputs = await Promise.all(this.pings.map(({ ping }) => ping.stop('SIGINT')));
    return this.pings.map(({ target }, i) => outageOf(target, outputs[i]?.stdout ?? '', { start: this.start, end }));
  }
}

export class EmulatedLab {
  private lanWatch: LanWatch | undefined;

  private constructor(readonly topology: Topology) {}

  get prefix(): string {
    return this.topology.prefix;
  }

  /** Builds the LAN for a plan, each node emulated as its profile (default debian), and puts each node's script in place (not yet run). */
  static async build(plan: Plan, scripts: { node: string; content: string }[], profiles: Record<string, ProfileName> = {}): Promise<EmulatedLab> {
    handleSignals();
    const topology = buildTopology(plan, newPrefix(), profiles);
    live.add(topology.prefix);
    const lab = new EmulatedLab(topology);
    try {
      await bash(setupScript(topology), `building lab ${topology.prefix}`);
      lab.installScripts(scripts);
    } catch (error) {
      lab.remove();
      throw error;
    }
    return lab;
  }

  /** Puts each node's script in place, replacing the one it had (the next stage of a rollout). */
  installScripts(scripts: { node: string; content: string }[]): void {
    for (const { node, content } of scripts) {
      writeFileSync(this.scriptPath(node), content, { mode: 0o755 });
      // A node with systemd, as far as install can tell: an empty unit directory.
      mkdirSync(path.join(this.fsRoot(node), 'etc/systemd/system'), { recursive: true });
    }
  }

  scriptPath(node: string): string {
    return labPaths(this.prefix).script(node);
  }

  /** The node's own file system tree, for `install --root`; removed with the lab. */
  fsRoot(node: string): string {
    return labPaths(this.prefix).fsRoot(node);
  }

  /**
   * The command line that runs `argv` inside an emulated node (its mount, UTS and network namespaces) with the node's
   * run dir: the script's lock and records stay in the lab, not in the host's /run/macvlan-gen (the nodes share the
   * host's /run).
   */
  nodeCommand(node: string, argv: string[], env: Record<string, string> = {}): string[] {
    const variables = Object.entries({ MACVLAN_GEN_RUN_DIR: labPaths(this.prefix).runDir(node), ...env }).map(([k, v]) => `${k}=${v}`);
    return inNode(this.prefix, node, ['env', ...variables, ...argv]);
  }

  /** Runs a command inside an emulated node, as nodeCommand says. */
  runInNode(node: string, argv: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
    const [command = 'nsenter', ...args] = this.nodeCommand(node, argv, env);
    return runProcess(command, args);
  }

  /** Runs the node's generated script, unmodified, inside its emulated node. */
  runScript(node: string, args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
    return this.runInNode(node, this.scriptCommand(node, args), env);
  }

  /** The node's script with its arguments, for runInNode or nodeCommand. */
  scriptCommand(node: string, args: string[]): string[] {
    return ['bash', this.scriptPath(node), ...args];
  }

  /** Pings every expected pair of the family (IPv4 unless told) from its first endpoint (at a further address where it names one) and tells which answered. */
  async probe(expectations: Expectation[], family: Family = 4): Promise<ProbeResult[]> {
    const byId = new Map(this.topology.endpoints.map((endpoint) => [endpoint.id, endpoint]));
    const pinged = (id: string): string => {
      const endpoint = byId.get(id);
      return endpoint === undefined ? '' : (addressOf(endpoint, family) ?? '');
    };
    const answers = new Map<string, boolean>();
    const sources = [...new Set(expectations.map((e) => e.from))];
    const perFlush = sourcesPerFlush(sources.length, this.topology.endpoints.length, this.lanWatch?.watching ?? 0);
    const batchSize = perFlush ?? sources.length;
    const probeSource = async (sourceId: string): Promise<void> => {
      const source = byId.get(sourceId);
      if (!source) return;
      const targets = expectations.filter((e) => e.from === sourceId).map((e) => e.ip ?? pinged(e.to));
      const [command = 'nsenter', ...args] = probeCommand(this.prefix, source, [...new Set(targets)], perFlush !== undefined, family);
      const result = await runProcess(command, args);
      for (const answer of result.stdout.trim().split('\n')) {
        const [ip, verdict] = answer.split(' ');
        answers.set(`${sourceId} ${ip ?? ''}`, verdict === 'ok');
      }
    };
    for (let first = 0; first < sources.length; first += batchSize) {
      if (first > 0) await bash(neighbourFlushScript(this.topology), "emptying the lab's neighbour caches");
      await mapLimited(sources.slice(first, first + batchSize), PROBE_SOURCES_AT_ONCE, probeSource);
    }
    return expectations.map((e) => {
      const actual = answers.get(`${e.from} ${e.ip ?? pinged(e.to)}`) ?? false;
      return { ...e, actual, asExpected: actual === e.reach };
    });
  }

  /** The lab's LAN neighbour starts pinging each target, ten times a second, until the watch is stopped. */
  watch(targets: WatchTarget[]): LanWatch {
    const { watcher } = this.topology;
    const ping = (from: Endpoint, to: WatchTarget): StartedProcess => {
      const [command = 'nsenter', ...args] = watchCommand(this.prefix, from, to.ip);
      return startProcess(command, args);
    };
    this.lanWatch = new LanWatch(watcher === undefined ? [] : targets.map((target) => ({ target, ping: ping(watcher, target) })));
    return this.lanWatch;
  }

  /** Leaves the lab up after this process ends (--keep). */
  keep(): void {
    live.delete(this.prefix);
  }

  remove(): void {
    removeLab(this.prefix);
    live.delete(this.prefix);
  }
}
