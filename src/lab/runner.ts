// runLab: builds each stage's emulated LAN in network namespaces, runs the generated scripts unmodified inside the
// emulated nodes, probes every pair of endpoints and compares with the expectations. Always cleans up.
import { spawnSync } from 'node:child_process';
import { EnvironmentError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { renderConfig } from '../pipeline.js';
import { sha256 } from '../output/assemble.js';
import { expectReachability, type Expectation } from './expect.js';
import { EmulatedLab, type ProbeResult } from './emulated-lab.js';
import { labStages, type Stage } from './stages.js';

export { listLabs, removeLab, type ProbeResult } from './emulated-lab.js';

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

export function checkEnvironment(): void {
  if (process.getuid?.() !== 0) throw new EnvironmentError('lab needs root to create network namespaces; run it with sudo');
  const missing = REQUIRED_TOOLS.filter((tool) => spawnSync('bash', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) {
    throw new EnvironmentError(`lab needs ${missing.join(', ')}; install them (Debian: apt-get install iproute2 util-linux iputils-ping)`);
  }
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

function applyOverrides(expectations: Expectation[], overrides: ExpectationOverride[]): Expectation[] {
  return expectations.map((e) => {
    const override = overrides.find((o) => (o.from === e.from && o.to === e.to) || (o.from === e.to && o.to === e.from));
    return override ? { ...e, reach: override.reach, reason: `overridden on the command line (--expect)` } : e;
  });
}

async function runStage(stage: Stage, options: LabOptions, keep: boolean): Promise<StageResult> {
  const rendered = renderConfig(stage.config, options.configSha256);
  let start = process.hrtime.bigint();
  const lab = await EmulatedLab.build(rendered.plan, rendered.scripts);
  const { topology, prefix } = lab;
  options.progress(`built lab ${prefix}: ${topology.nodes.length} nodes, a switch, a gateway and an outside client`);
  const result: StageResult = {
    name: stage.name,
    description: stage.description,
    prefix,
    endpoints: topology.endpoints.map(({ id, ip }) => ({ id, ip })),
    scripts: [],
    results: [],
    seconds: { build: seconds(start), apply: 0, probe: 0 },
  };
  try {
    start = process.hrtime.bigint();
    result.scripts = await Promise.all(
      rendered.scripts.map(async ({ node, content }) => {
        options.progress(`running ${node}.sh apply in emulated node ${node}`);
        const run = await lab.runScript(node, ['apply']);
        return { node, sha256: sha256(content), status: run.status, output: `${run.stdout}${run.stderr}` };
      }),
    );
    result.seconds.apply = seconds(start);
    const failed = result.scripts.filter((run) => run.status !== 0);
    for (const run of failed) options.progress(`${run.node}.sh apply failed with exit ${String(run.status)}:\n${run.output}`);
    if (failed.length > 0) return result;

    const expectations = applyOverrides(expectReachability(topology), options.overrides);
    start = process.hrtime.bigint();
    options.progress(`probing ${expectations.length} pairs among ${topology.endpoints.length} endpoints`);
    result.results = await lab.probe(expectations);
    result.seconds.probe = seconds(start);
    return result;
  } finally {
    if (keep) lab.keep();
    else lab.remove();
  }
}

export async function runLab(config: Config, options: LabOptions): Promise<LabResult> {
  checkEnvironment();
  const start = process.hrtime.bigint();
  const stages = labStages(config, options.staged);
  const results: StageResult[] = [];
  for (const [i, stage] of stages.entries()) {
    options.progress(`stage ${i + 1}/${stages.length}: ${stage.description}`);
    results.push(await runStage(stage, options, options.keep && i === stages.length - 1));
  }
  const ok = results.every((stage) => stage.scripts.every((run) => run.status === 0) && stage.results.every((r) => r.asExpected));
  const kept = options.keep ? results[results.length - 1]?.prefix : undefined;
  return { ok, stages: results, seconds: seconds(start), ...(kept !== undefined && { kept }) };
}
