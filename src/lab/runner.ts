// runLab: builds each stage's emulated LAN in network namespaces, runs the generated scripts unmodified inside the
// emulated nodes, probes every pair of endpoints and compares with the expectations. Always cleans up.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { EnvironmentError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { renderConfig } from '../pipeline.js';
import { sha256 } from '../output/assemble.js';
import { runProcess } from '../process.js';
import { buildTopology, type Topology } from './topology.js';
import { expectReachability, type Expectation } from './expect.js';
import { cleanupScript, inNode, LAB_PREFIX, labPaths, neighbourFlushScript, probeCommand, setupScript } from './commands.js';
import { labStages } from './stages.js';

export interface ExpectationOverride {
  from: string;
  to: string;
  reach: boolean;
}

export interface LabOptions {
  staged: boolean;
  keep: boolean;
  overrides: ExpectationOverride[];
  configSha256: string;
  progress: (line: string) => void;
}

export interface ProbeResult extends Expectation {
  actual: boolean;
  asExpected: boolean;
}

export interface ScriptRun {
  node: string;
  /** sha256 of the script as run, to compare with a generated SHA256SUMS. */
  sha256: string;
  status: number | null;
  output: string;
}

export interface StageResult {
  name: string;
  description: string;
  prefix: string;
  endpoints: { id: string; ip: string }[];
  scripts: ScriptRun[];
  results: ProbeResult[];
  seconds: { build: number; apply: number; probe: number };
}

export interface LabResult {
  ok: boolean;
  stages: StageResult[];
  seconds: number;
  /** The prefix of a lab left running with --keep. */
  kept?: string;
}

const REQUIRED_TOOLS = ['ip', 'nsenter', 'unshare', 'mount', 'umount', 'ping', 'bash', 'stat'];
const PROBE_SOURCES_AT_ONCE = 2;

function checkEnvironment(): void {
  if (process.getuid?.() !== 0) throw new EnvironmentError('lab needs root to create network namespaces; run it with sudo');
  const missing = REQUIRED_TOOLS.filter((tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) {
    throw new EnvironmentError(`lab needs ${missing.join(', ')}; install them (Debian: apt-get install iproute2 util-linux iputils-ping)`);
  }
}

function newPrefix(): string {
  for (;;) {
    const prefix = `${LAB_PREFIX}-${randomBytes(3).toString('hex')}`;
    if (!existsSync(labPaths(prefix).dir)) return prefix;
  }
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

/** Prefixes of labs present on this machine (left by --keep, or by a run that was killed). */
export function listLabs(): string[] {
  const names = [...(existsSync('/run/netns') ? readdirSync('/run/netns') : []), ...readdirSync('/run')];
  const prefixes = names.map((name) => new RegExp(`^(${LAB_PREFIX}-[a-z0-9]+)`).exec(name)?.[1]).filter((p): p is string => p !== undefined);
  return [...new Set(prefixes)].sort();
}

export function removeLab(prefix: string): void {
  spawnSync('bash', ['-c', cleanupScript(prefix)], { stdio: 'ignore' });
}

/** Labs being built or probed now, removed on Ctrl-C or kill as well. */
const active = new Set<string>();
function onSignal(signal: NodeJS.Signals): void {
  for (const prefix of active) removeLab(prefix);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

async function bash(script: string, what: string): Promise<void> {
  const result = await runProcess('bash', ['-c', script]);
  if (result.status !== 0) throw new EnvironmentError(`${what} failed: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`);
}

async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

async function applyScripts(topology: Topology, scripts: { node: string; content: string }[], progress: (line: string) => void): Promise<ScriptRun[]> {
  const paths = labPaths(topology.prefix);
  return Promise.all(
    scripts.map(async ({ node, content }) => {
      const scriptPath = paths.script(node);
      writeFileSync(scriptPath, content, { mode: 0o755 });
      progress(`running ${node}.sh apply in emulated node ${node}`);
      const [command = 'nsenter', ...args] = inNode(topology.prefix, node, ['env', `MACVLAN_GEN_RUN_DIR=${paths.runDir(node)}`, 'bash', scriptPath, 'apply']);
      const result = await runProcess(command, args);
      return { node, sha256: sha256(content), status: result.status, output: `${result.stdout}${result.stderr}` };
    }),
  );
}

/**
 * How many sources may probe before every neighbour cache is emptied. All namespaces share the kernel's one
 * neighbour table (gc_thresh3 entries, 1024 by default); each probing source adds about two entries per target,
 * and entries younger than 5 seconds cannot be reclaimed, so a large lab would overflow it and lose pings.
 */
function sourcesPerFlush(endpoints: number): number {
  let limit = 1024;
  try {
    limit = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8').trim()) || limit;
  } catch {
    // Keep the kernel's default.
  }
  return Math.max(PROBE_SOURCES_AT_ONCE, Math.floor((limit * 0.5) / Math.max(1, endpoints)));
}

async function probe(topology: Topology, expectations: Expectation[]): Promise<ProbeResult[]> {
  const byId = new Map(topology.endpoints.map((endpoint) => [endpoint.id, endpoint]));
  const allSources = [...new Set(expectations.map((e) => e.from))];
  const answers = new Map<string, boolean>();
  const batchSize = sourcesPerFlush(topology.endpoints.length);
  for (let first = 0; first < allSources.length; first += batchSize) {
    if (first > 0) await bash(neighbourFlushScript(topology), 'emptying the lab\'s neighbour caches');
    await mapLimited(allSources.slice(first, first + batchSize), PROBE_SOURCES_AT_ONCE, probeSource);
  }
  return expectations.map((e) => {
    const actual = answers.get(`${e.from} ${byId.get(e.to)?.ip ?? ''}`) ?? false;
    return { ...e, actual, asExpected: actual === e.reach };
  });

  async function probeSource(sourceId: string): Promise<void> {
    const source = byId.get(sourceId);
    if (!source) return;
    const targets = expectations.filter((e) => e.from === sourceId).map((e) => byId.get(e.to)?.ip ?? '');
    const [command = 'nsenter', ...args] = probeCommand(topology.prefix, source, [...new Set(targets)]);
    const result = await runProcess(command, args);
    for (const answer of result.stdout.trim().split('\n')) {
      const [ip, verdict] = answer.split(' ');
      answers.set(`${sourceId} ${ip ?? ''}`, verdict === 'ok');
    }
  }
}

function applyOverrides(expectations: Expectation[], overrides: ExpectationOverride[]): Expectation[] {
  return expectations.map((e) => {
    const override = overrides.find((o) => (o.from === e.from && o.to === e.to) || (o.from === e.to && o.to === e.from));
    return override ? { ...e, reach: override.reach, reason: `overridden on the command line (--expect)` } : e;
  });
}

async function runStage(stage: { name: string; description: string; config: Config }, options: LabOptions, keep: boolean): Promise<StageResult> {
  const prefix = newPrefix();
  const rendered = renderConfig(stage.config, options.configSha256);
  const topology = buildTopology(rendered.plan, prefix);
  const expectations = applyOverrides(expectReachability(topology), options.overrides);
  const result: StageResult = {
    name: stage.name,
    description: stage.description,
    prefix,
    endpoints: topology.endpoints.map(({ id, ip }) => ({ id, ip })),
    scripts: [],
    results: [],
    seconds: { build: 0, apply: 0, probe: 0 },
  };
  active.add(prefix);
  try {
    let start = process.hrtime.bigint();
    options.progress(`building lab ${prefix}: ${topology.nodes.length} nodes, a switch, a gateway and an outside client`);
    await bash(setupScript(topology), `building lab ${prefix}`);
    result.seconds.build = seconds(start);

    start = process.hrtime.bigint();
    result.scripts = await applyScripts(topology, rendered.scripts, options.progress);
    result.seconds.apply = seconds(start);
    const failed = result.scripts.filter((run) => run.status !== 0);
    for (const run of failed) options.progress(`${run.node}.sh apply failed with exit ${String(run.status)}:\n${run.output}`);
    if (failed.length > 0) return result;

    start = process.hrtime.bigint();
    options.progress(`probing ${expectations.length} pairs among ${topology.endpoints.length} endpoints`);
    result.results = await probe(topology, expectations);
    result.seconds.probe = seconds(start);
    return result;
  } finally {
    if (!keep) {
      removeLab(prefix);
      active.delete(prefix);
    }
  }
}

export async function runLab(config: Config, options: LabOptions): Promise<LabResult> {
  checkEnvironment();
  const start = process.hrtime.bigint();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const stages = labStages(config, options.staged);
    const results: StageResult[] = [];
    for (const [i, stage] of stages.entries()) {
      options.progress(`stage ${i + 1}/${stages.length}: ${stage.description}`);
      const keepThis = options.keep && i === stages.length - 1;
      results.push(await runStage(stage, options, keepThis));
    }
    const ok = results.every((stage) => stage.scripts.every((run) => run.status === 0) && stage.results.every((r) => r.asExpected));
    const kept = options.keep ? results[results.length - 1]?.prefix : undefined;
    return { ok, stages: results, seconds: seconds(start), ...(kept !== undefined && { kept }) };
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    active.clear();
  }
}
