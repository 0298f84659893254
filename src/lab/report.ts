// formatLabReport: the connectivity matrix of each stage, what changed between stages, and every surprise.
import type { LabResult, ProbeResult, StageResult } from './runner.js';

const MAX_GRID_ENDPOINTS = 24;

/** ok / -- as expected; a trailing "!" marks a result the rules did not predict. */
function cell(result: ProbeResult | undefined): string {
  if (!result) return '';
  return `${result.actual ? 'ok' : '--'}${result.asExpected ? '' : '!'}`;
}

function grid(stage: StageResult): string[] {
  const ids = stage.endpoints.map((endpoint) => endpoint.id);
  const lookup = new Map(stage.results.flatMap((r) => [[`${r.from}\0${r.to}`, r] as const, [`${r.to}\0${r.from}`, r] as const]));
  const labelWidth = Math.max(...ids.map((id) => id.length));
  const columnWidth = Math.max(4, ...ids.map((id) => id.length)) + 1;
  const header = `${' '.repeat(labelWidth)}  ${ids.map((id) => id.padEnd(columnWidth)).join('')}`.trimEnd();
  const rows = ids.map((row) => {
    const cells = ids.map((column) => (row === column ? '.' : cell(lookup.get(`${row}\0${column}`))).padEnd(columnWidth));
    return `${row.padEnd(labelWidth)}  ${cells.join('')}`.trimEnd();
  });
  return [header, ...rows];
}

const pairName = (r: ProbeResult): string => `${r.from} <-> ${r.to}`;

function changes(previous: StageResult, current: StageResult): string[] {
  const before = new Map(previous.results.map((r) => [pairName(r), r.actual]));
  return current.results
    .filter((r) => before.has(pairName(r)) && before.get(pairName(r)) !== r.actual)
    .map((r) => `  ${pairName(r)}: ${r.actual ? 'now reach each other' : 'no longer reach each other'} (${r.reason})`);
}

export function formatStage(stage: StageResult, index: number, total: number, previous?: StageResult, timings = true): string[] {
  const lines = [`Stage ${index + 1}/${total} (${stage.name}): ${stage.description}`];
  const failedScripts = stage.scripts.filter((run) => run.status !== 0);
  if (failedScripts.length > 0) {
    return [...lines, ...failedScripts.map((run) => `  ${run.node}.sh apply failed with exit ${String(run.status)}; nothing was probed`)];
  }
  if (stage.endpoints.length <= MAX_GRID_ENDPOINTS) lines.push(...grid(stage).map((row) => `  ${row}`));
  else lines.push(`  (${stage.endpoints.length} endpoints: too many for a grid; --json has every pair)`);
  if (previous) {
    const changed = changes(previous, stage);
    lines.push(changed.length > 0 ? 'Changed since the previous stage:' : 'Nothing changed since the previous stage.', ...changed);
  }
  const unexpected = stage.results.filter((r) => !r.asExpected);
  lines.push(...unexpected.map((r) => `  UNEXPECTED ${pairName(r)}: ${r.actual ? 'reach' : 'no reach'}, expected ${r.reach ? 'reach' : 'no reach'} (${r.reason})`));
  const timing = timings ? ` (build ${stage.seconds.build.toFixed(2)}s, apply ${stage.seconds.apply.toFixed(2)}s, probe ${stage.seconds.probe.toFixed(2)}s)` : '';
  lines.push(`${stage.results.length} pairs: ${stage.results.length - unexpected.length} as expected, ${unexpected.length} unexpected${timing}`);
  return lines;
}

/** The report `lab` prints; without timings it is the same on every run, for the docs. */
export function formatLabReport(result: LabResult, options: { timings?: boolean } = {}): string {
  const timings = options.timings ?? true;
  const sections = result.stages.map((stage, i) => formatStage(stage, i, result.stages.length, result.stages[i - 1], timings).join('\n'));
  const legend = 'ok = ping answered, -- = no answer, ! = not what the rules predict';
  const verdict = result.ok ? 'lab: every result as expected' : 'lab: FAILED';
  return [legend, ...sections, timings ? `${verdict} (${result.seconds.toFixed(1)}s)` : verdict].join('\n\n');
}
