// recordLab: what an operator sees running each node script's commands in order (plan, apply, apply again,
// verify, teardown) on emulated nodes, and the staged matrix: the docs embed these, so every output shown is real.
import type { Config } from '../config/schema.js';
import { FindingsError } from '../errors.js';
import { renderConfig } from '../pipeline.js';
import { EmulatedLab } from './emulated-lab.js';
import { formatLabReport, formatStage } from './report.js';
import { checkEnvironment, runLab } from './runner.js';

export const TRANSCRIPT_STEPS = [
  { name: 'plan', args: ['plan'] },
  { name: 'apply', args: ['apply'] },
  { name: 'apply-again', args: ['apply'] },
  { name: 'verify', args: ['verify'] },
  { name: 'teardown', args: ['teardown'] },
] as const;

export interface Transcript {
  /** "node1-apply.txt" */
  name: string;
  content: string;
}

/** Every node runs a step before any node runs the next, as an operator rolling out a group would. */
export async function recordTranscripts(config: Config, configSha256: string, progress: (line: string) => void): Promise<Transcript[]> {
  const rendered = renderConfig(config, configSha256);
  const lab = await EmulatedLab.build(rendered.plan, rendered.scripts);
  const transcripts: Transcript[] = [];
  try {
    for (const step of TRANSCRIPT_STEPS) {
      for (const { node } of rendered.scripts) {
        progress(`recording ${node}.sh ${step.args.join(' ')}`);
        const run = await lab.runScript(node, [...step.args]);
        const exit = run.status === 0 ? '' : `[exit ${String(run.status ?? run.signal)}]\n`;
        const content = `$ sudo ./${node}.sh ${step.args.join(' ')}\n${run.stdout}${run.stderr}${exit}`;
        transcripts.push({ name: `${node}-${step.name}.txt`, content });
      }
    }
  } finally {
    lab.remove();
  }
  return transcripts;
}

/** Everything `lab record` writes: the transcripts, each stage's matrix, and the whole staged report (lab.txt). */
export async function recordLab(config: Config, configSha256: string, progress: (line: string) => void): Promise<Transcript[]> {
  checkEnvironment();
  const transcripts = await recordTranscripts(config, configSha256, progress);
  const lab = await runLab(config, { staged: true, keep: false, profiles: {}, overrides: [], configSha256, progress });
  if (!lab.ok) throw new FindingsError('the lab found unexpected results; nothing was written');
  const stages = lab.stages.map((stage, i) => ({
    name: `lab-${stage.name}.txt`,
    content: `${formatStage(stage, i, lab.stages.length, lab.stages[i - 1], false).join('\n')}\n`,
  }));
  return [...transcripts, ...stages, { name: 'lab.txt', content: `${formatLabReport(lab, { timings: false })}\n` }];
}
