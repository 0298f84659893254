// formatLabReport: the connectivity matrix of each stage, what changed between stages, the longest outage a LAN
// neighbour saw, and every surprise.
import { WATCH_INTERVAL_SECONDS } from './commands.js';
import { isOutage, MAX_OUTAGE_SECONDS } from './outages.js';
import { DEFAULT_PROFILE } from './profiles.js';
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

/** The watched endpoints' longest outages (exact figures only with timings: they differ between runs), then each one over the limit. */
function outageLines(stage: StageResult, timings: boolean): string[] {
  if (stage.outages.length === 0) return [];
  const watcher = `LAN neighbour pinging ${1 / WATCH_INTERVAL_SECONDS} times a second`;
  const longest = [...stage.outages].sort((a, b) => b.longestSeconds - a.longestSeconds)[0];
  const figures =
    stage.outages.length > MAX_GRID_ENDPOINTS
      ? `${longest?.endpoint ?? ''} ${longest?.longestSeconds.toFixed(1) ?? ''} s, the longest of ${stage.outages.length} endpoints`
      : stage.outages.map((outage) => `${outage.endpoint} ${outage.longestSeconds.toFixed(1)} s`).join(', ');
  const over = stage.outages.filter(isOutage);
  const summary = timings
    ? `${watcher}, longest outage: ${figures}`
    : `${watcher}: ${over.length === 0 ? 'no' : over.length} outage${over.length === 1 ? '' : 's'} over ${MAX_OUTAGE_SECONDS} s among ${stage.outages.map((outage) => outage.endpoint).join(', ')}`;
  return [
    summary,
    ...over.map(
      (outage) =>
        `  OUTAGE ${outage.endpoint}: ${outage.longestSeconds.toFixed(1)} s without an answer during stage ${stage.name}${outage.silentAtEnd ? ' (still none when the lab stopped watching)' : ''}`,
    ),
  ];
}

export function formatStage(stage: StageResult, index: number, total: number, previous?: StageResult, timings = true): string[] {
  const lines = [`Stage ${index + 1}/${total} (${stage.name}): ${stage.description}`];
  const failedScripts = stage.scripts.filter((run) => run.status !== 0);
  if (failedScripts.length > 0) {
    return [
      ...lines,
      ...failedScripts.map((run) => `  ${run.node}.sh apply failed with exit ${String(run.status)}; nothing was probed`),
      ...outageLines(stage, timings),
    ];
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
  return [...lines, ...outageLines(stage, timings)];
}

/** The report `lab` prints; without timings it is the same on every run, for the docs. */
export function formatLabReport(result: LabResult, options: { timings?: boolean } = {}): string {
  const timings = options.timings ?? true;
  const total = result.stages.length + result.notRun.length;
  const sections = result.stages.map((stage, i) => formatStage(stage, i, total, result.stages[i - 1], timings).join('\n'));
  const legend = 'ok = ping answered, -- = no answer, ! = not what the rules predict';
  const profiles = Object.entries(result.profiles);
  const emulated = profiles.some(([, profile]) => profile !== DEFAULT_PROFILE) ? [`Nodes emulated as: ${profiles.map(([node, profile]) => `${node} ${profile}`).join(', ')}`] : [];
  const notRun = result.notRun.length > 0 ? [`Not run, since a script failed: ${result.notRun.join(', ')}`] : [];
  const verdict = result.ok ? 'lab: every result as expected' : 'lab: FAILED';
  return [legend, ...emulated, ...sections, ...notRun, timings ? `${verdict} (${result.seconds.toFixed(1)}s)` : verdict].join('\n\n');
}
