// runLab: builds one emulated LAN in network namespaces, rolls the stages out on it in turn (each stage's generated
// scripts run unmodified inside the emulated nodes, on top of the previous stage's state), probes every pair of
// endpoints, compares with the expectations, and reports how long a LAN neighbour lost each endpoint. Always cleans up.
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { buildPlan } from '../plan/plan.js';
import { renderConfig } from '../pipeline.js';
import { sha256 } from '../output/assemble.js';
import { familyOf } from '../ip.js';
import { endpointsOfFamily, expectReachability, reachableFromWatcher, type Expectation } from './expect.js';
import { inFamily } from './report.js';
import { EmulatedLab, type ProbeResult, type WatchTarget } from './emulated-lab.js';
import { isOutage, type Outage } from './outages.js';
import { DEFAULT_PROFILE, PROFILES, type ProfileName } from './profiles.js';
import { labBaseline, labStages, type Stage } from './stages.js';
import { addressOf, stageTopology, type Topology } from './topology.js';

export { listLabs, removeLab, type ProbeResult } from './emulated-lab.js';

export interface ExpectationOverride {
  from: string;
  to: string;
  reach: boolean;
}

export interface LabOptions {
  staged: boolean;
  keep: boolean;
  /** Each node's profile; a node left out is emulated as the default. */
  profiles: Record<string, ProfileName>;
  overrides: ExpectationOverride[];
  configSha256: string;
  progress: (line: string) => void;
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
  endpoints: { id: string; ip: string; ip6?: string }[];
  scripts: ScriptRun[];
  /** The IPv4 matrix. */
  results: ProbeResult[];
  /** Dual stack: the IPv6 matrix, of the endpoints with an IPv6 address. */
  results6?: ProbeResult[];
  /**
   * Per endpoint the LAN neighbour watched (reachable from the LAN before and after this stage), its longest outage;
   * in dual stack once per family, the IPv6 one at the endpoint's IPv6 address.
   */
  outages: Outage[];
  /** build: the lab (first stage) and the stage's scripts put in place. */
  seconds: { build: number; apply: number; probe: number };
}

export interface LabResult {
  ok: boolean;
  /** The one lab every stage ran on. */
  prefix: string;
  /** Each node's profile. */
  profiles: Record<string, ProfileName>;
  /** The LAN neighbour's addresses (IPv4 first); none when the LAN subnets have no free address. */
  watcher: string[];
  stages: StageResult[];
  /** Stages not run because an earlier stage's script failed, as an operator stops a rollout. */
  notRun: string[];
  seconds: number;
  /** The prefix of a lab left running with --keep. */
  kept?: string;
  /** In a lab left running: the command line that runs each node's script (here `plan`) inside its node. */
  keptScripts?: { node: string; command: string[] }[];
}

const REQUIRED_TOOLS = [
  { tool: 'ip', debianPackage: 'iproute2' },
  { tool: 'nsenter', debianPackage: 'util-linux' },
  { tool: 'unshare', debianPackage: 'util-linux' },
  { tool: 'mount', debianPackage: 'mount' },
  { tool: 'umount', debianPackage: 'mount' },
  { tool: 'ping', debianPackage: 'iputils-ping' },
  { tool: 'bash', debianPackage: 'bash' },
  { tool: 'stat', debianPackage: 'coreutils' },
];

export function checkEnvironment(profiles: ProfileName[] = []): void {
  if (process.getuid?.() !== 0) throw new EnvironmentError('lab needs root to create network namespaces; run it with sudo');
  const needed = [...REQUIRED_TOOLS, ...[...new Set(profiles)].flatMap((profile) => PROFILES[profile].tools)];
  const missing = needed.filter(({ tool }) => spawnSync('bash', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(({ debianPackage }) => debianPackage))].join(' ');
    throw new EnvironmentError(`lab needs ${missing.map(({ tool }) => tool).join(', ')}; install them (Debian: apt-get install ${packages})`);
  }
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

function applyOverrides(expectations: Expectation[], overrides: ExpectationOverride[]): Expectation[] {
  return expectations.map((e) => {
    // A pair's override is about the addresses its matrix pings, not the further ones of a namespace.
    const override = e.ip === undefined ? overrides.find((o) => (o.from === e.from && o.to === e.to) || (o.from === e.to && o.to === e.from)) : undefined;
    return override ? { ...e, reach: override.reach, reason: `overridden on the command line (--expect)` } : e;
  });
}

/** The watcher's caches are warm, as a LAN neighbour's are, before anything changes. */
const WATCH_LEAD_SECONDS = 1;
/** An outage that begins as the last script ends still lasts longer than the limit while the watcher watches. */
const WATCH_TAIL_SECONDS = 3;
/** Long enough to see the whole of an outage that lasts as long as a stale ARP entry (the issue measured 37-52 s). */
const WATCH_RECOVERY_SECONDS = 60;

/**
 * What a LAN neighbour can ping both before and after the stage, in each family: an endpoint not yet up is not
 * watched. IPv4 first.
 */
function watchTargets(before: Topology, after: Topology): WatchTarget[] {
  return after.families.flatMap((family) => {
    const reachableBefore = new Set(reachableFromWatcher(before, family).map((endpoint) => endpoint.id));
    return reachableFromWatcher(after, family)
      .filter((endpoint) => reachableBefore.has(endpoint.id))
      .map((endpoint) => ({ id: endpoint.id, ip: addressOf(endpoint, family) ?? '' }));
  });
}


async function runStage(lab: EmulatedLab, stage: Stage, before: Topology, started: bigint, options: LabOptions): Promise<{ result: StageResult; topology: Topology }> {
  const rendered = renderConfig(stage.config, options.configSha256);
  const topology = stageTopology(lab.topology, rendered.plan);
  lab.installScripts(rendered.scripts);
  const result: StageResult = {
    name: stage.name,
    description: stage.description,
    endpoints: topology.endpoints.map(({ id, ip, ip6 }) => ({ id, ip, ...(ip6 !== undefined && { ip6 }) })),
    scripts: [],
    results: [],
    outages: [],
    seconds: { build: seconds(started), apply: 0, probe: 0 },
  };
  const watched = watchTargets(before, topology);
  if (topology.watcher && watched.length > 0) {
    const named = watched.map((target) => inFamily(target.id, familyOf(target.ip)));
    options.progress(`a LAN neighbour at ${topology.watcher.ip} pings ${named.join(', ')} ten times a second`);
  }
  const watch = lab.watch(watched);
  try {
    await sleep(WATCH_LEAD_SECONDS * 1000);
    let start = process.hrtime.bigint();
    result.scripts = await Promise.all(
      rendered.scripts.map(async ({ node, content }) => {
        options.progress(`running ${node}.sh apply in emulated node ${node}`);
        const run = await lab.runScript(node, ['apply']);
        return { node, sha256: sha256(content), status: run.status, output: `${run.stdout}${run.stderr}` };
      }),
    );
    result.seconds.apply = seconds(start);
    const applied = Date.now();
    const failed = result.scripts.filter((run) => run.status !== 0);
    for (const run of failed) options.progress(`${run.node}.sh apply failed with exit ${String(run.status)}:\n${run.output}`);
    if (failed.length === 0) {
      start = process.hrtime.bigint();
      for (const family of topology.families) {
        const expectations = applyOverrides(expectReachability(topology, family), options.overrides);
        const among = endpointsOfFamily(topology.endpoints, family).length;
        const further = expectations.filter((e) => e.ip !== undefined).length;
        const also = further > 0 ? ` and ${further} pings of further addresses` : '';
        options.progress(`probing ${inFamily(`${expectations.length - further} pairs among ${among} endpoints${also}`, family)}`);
        const results = await lab.probe(expectations, family);
        if (family === 4) result.results = results;
        else result.results6 = results;
      }
      result.seconds.probe = seconds(start);
    }
    await sleep(Math.max(0, applied + WATCH_TAIL_SECONDS * 1000 - Date.now()));
    await watch.untilAnswering(WATCH_RECOVERY_SECONDS);
  } finally {
    result.outages = await watch.stop();
  }
  return { result, topology };
}

const stageOk = (stage: StageResult): boolean =>
  stage.scripts.every((run) => run.status === 0) && [...stage.results, ...(stage.results6 ?? [])].every((r) => r.asExpected) && !stage.outages.some(isOutage);

export async function runLab(config: Config, options: LabOptions): Promise<LabResult> {
  const profiles = Object.fromEntries(Object.keys(config.nodes).map((node) => [node, options.profiles[node] ?? DEFAULT_PROFILE]));
  checkEnvironment(Object.values(profiles));
  const started = process.hrtime.bigint();
  const stages = labStages(config, options.staged);
  const lab = await EmulatedLab.build(buildPlan(config), [], profiles);
  options.progress(`built lab ${lab.prefix}: ${lab.topology.nodes.length} nodes, a switch, a gateway, an outside client and a LAN neighbour`);
  const results: StageResult[] = [];
  try {
    let before = stageTopology(lab.topology, buildPlan(labBaseline(config)));
    for (const [i, stage] of stages.entries()) {
      options.progress(`stage ${i + 1}/${stages.length}: ${stage.description}`);
      const { result, topology } = await runStage(lab, stage, before, i === 0 ? started : process.hrtime.bigint(), options);
      results.push(result);
      before = topology;
      if (result.scripts.some((run) => run.status !== 0)) break;
    }
  } finally {
    if (options.keep) lab.keep();
    else lab.remove();
  }
  return {
    ok: results.length === stages.length && results.every(stageOk),
    prefix: lab.prefix,
    profiles,
    watcher: lab.topology.watcher?.addresses ?? [],
    stages: results,
    notRun: stages.slice(results.length).map((stage) => stage.name),
    seconds: seconds(started),
    ...(options.keep && {
      kept: lab.prefix,
      keptScripts: lab.topology.nodes.map(({ name }) => ({ node: name, command: lab.nodeCommand(name, lab.scriptCommand(name, ['plan'])) })),
    }),
  };
}
