// formatLabReport: the connectivity matrix of each stage (one per family in dual stack), what changed between
// stages, the longest outage a LAN neighbour saw, and every surprise. An IPv4-only lab reads as it always has.
import { familyOf, type Family } from '../ip.js';
import { WATCH_INTERVAL_SECONDS } from './commands.js';
import { isOutage, MAX_OUTAGE_SECONDS, type Outage } from './outages.js';
import { DEFAULT_PROFILE } from './profiles.js';
import type { LabResult, ProbeResult, StageResult } from './runner.js';

const MAX_GRID_ENDPOINTS = 24;

/** How a report names a pair, an endpoint or a count in a family: as it always has in IPv4, marked in IPv6. */
export const inFamily = (text: string, family: Family): string => (family === 6 ? `${text} (IPv6)` : text);

interface FamilyResults {
  family: Family;
  /** The endpoints with an address of the family, in the stage's order. */
  ids: string[];
  results: ProbeResult[];
}

/** The stage's matrices: IPv4, and IPv6 in dual stack. */
function byFamily(stage: StageResult): FamilyResults[] {
  const ids = stage.endpoints.map((endpoint) => endpoint.id);
  const ids6 = stage.endpoints.flatMap((endpoint) => (endpoint.ip6 === undefined ? [] : [endpoint.id]));
  return [{ family: 4, ids, results: stage.results }, ...(stage.results6 === undefined ? [] : [{ family: 6 as const, ids: ids6, results: stage.results6 }])];
}

/** ok / -- as expected; a trailing "!" marks a result the rules did not predict. */
function cell(result: ProbeResult | undefined): string {
  if (!result) return '';
  return `${result.actual ? 'ok' : '--'}${result.asExpected ? '' : '!'}`;
}

/** A table of cells: a header of column ids under `corner`, then one row per label. */
function table(corner: string, labels: string[], ids: string[], cellAt: (label: string, column: string) => string): string[] {
  const labelWidth = Math.max(corner.length, ...labels.map((label) => label.length));
  const columnWidth = Math.max(4, ...ids.map((id) => id.length)) + 1;
  const header = `${corner.padEnd(labelWidth)}  ${ids.map((id) => id.padEnd(columnWidth)).join('')}`.trimEnd();
  const rows = labels.map((label) => `${label.padEnd(labelWidth)}  ${ids.map((column) => cellAt(label, column).padEnd(columnWidth)).join('')}`.trimEnd());
  return [header, ...rows];
}

/** One family's matrix; `corner` names the family in its top left corner (empty when there is only IPv4). */
function grid({ ids, results }: FamilyResults, corner: string): string[] {
  const pairs = results.filter((r) => r.ip === undefined);
  const lookup = new Map(pairs.flatMap((r) => [[`${r.from}\0${r.to}`, r] as const, [`${r.to}\0${r.from}`, r] as const]));
  return table(corner, ids, ids, (row, column) => (row === column ? '.' : cell(lookup.get(`${row}\0${column}`))));
}

/** A namespace's further addresses (one row each), pinged from each endpoint of the family (the columns). */
function furtherGrid({ ids, results }: FamilyResults, corner: string): string[] {
  const further = results.filter((r) => r.ip !== undefined);
  if (further.length === 0) return [];
  const label = (r: ProbeResult): string => `${r.to} ${r.ip ?? ''}`;
  const owners = new Map(further.map((r) => [label(r), r.to]));
  const lookup = new Map(further.map((r) => [`${label(r)}\0${r.from}`, r]));
  return table(corner, [...owners.keys()], ids, (row, column) => (owners.get(row) === column ? '.' : cell(lookup.get(`${row}\0${column}`))));
}

const pairName = (r: ProbeResult, family: Family): string => inFamily(r.ip === undefined ? `${r.from} <-> ${r.to}` : `${r.from} -> ${r.to} at ${r.ip}`, family);

/** Every result of the stage, each with its name in the report. */
const namedResults = (stage: StageResult): { name: string; result: ProbeResult }[] =>
  byFamily(stage).flatMap(({ family, results }) => results.map((result) => ({ name: pairName(result, family), result })));

function changes(previous: StageResult, current: StageResult): string[] {
  const before = new Map(namedResults(previous).map(({ name, result }) => [name, result.actual]));
  return namedResults(current)
    .filter(({ name, result }) => before.has(name) && before.get(name) !== result.actual)
    .map(({ name, result }) => {
      const [now, noLonger] = result.ip === undefined ? ['now reach each other', 'no longer reach each other'] : ['now answered', 'no longer answered'];
      return `  ${name}: ${result.actual ? now : noLonger} (${result.reason})`;
    });
}

/** The watched endpoints' longest outages (exact figures only with timings: they differ between runs), then each one over the limit. */
function outageLines(stage: StageResult, timings: boolean): string[] {
  if (stage.outages.length === 0) return [];
  const watcher = `LAN neighbour pinging ${1 / WATCH_INTERVAL_SECONDS} times a second`;
  const longest = [...stage.outages].sort((a, b) => b.longestSeconds - a.longestSeconds)[0];
  const named = (outage: Outage): string => inFamily(outage.endpoint, familyOf(outage.ip));
  const figures =
    stage.outages.length > MAX_GRID_ENDPOINTS
      ? `${longest === undefined ? '' : named(longest)} ${longest?.longestSeconds.toFixed(1) ?? ''} s, the longest of ${new Set(stage.outages.map((outage) => outage.endpoint)).size} endpoints`
      : stage.outages.map((outage) => `${named(outage)} ${outage.longestSeconds.toFixed(1)} s`).join(', ');
  const over = stage.outages.filter(isOutage);
  const summary = timings
    ? `${watcher}, longest outage: ${figures}`
    : `${watcher}: ${over.length === 0 ? 'no' : over.length} outage${over.length === 1 ? '' : 's'} over ${MAX_OUTAGE_SECONDS} s among ${stage.outages.map(named).join(', ')}`;
  return [
    summary,
    ...over.map(
      (outage) =>
        `  OUTAGE ${named(outage)}: ${outage.longestSeconds.toFixed(1)} s without an answer during stage ${stage.name}${outage.silentAtEnd ? ' (still none when the lab stopped watching)' : ''}`,
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
  const families = byFamily(stage);
  const dualStack = families.length > 1;
  for (const matrix of families) {
    const corner = dualStack ? `IPv${matrix.family}` : '';
    if (matrix.ids.length <= MAX_GRID_ENDPOINTS) {
      lines.push(...grid(matrix, corner).map((row) => `  ${row}`));
      lines.push(...furtherGrid(matrix, dualStack ? `${corner} further addresses` : 'further addresses').map((row) => `  ${row}`));
    } else lines.push(`  (${inFamily(`${matrix.ids.length} endpoints`, matrix.family)}: too many for a grid; --json has every pair)`);
  }
  if (previous) {
    const changed = changes(previous, stage);
    lines.push(changed.length > 0 ? 'Changed since the previous stage:' : 'Nothing changed since the previous stage.', ...changed);
  }
  const all = namedResults(stage);
  const unexpected = all.filter(({ result }) => !result.asExpected);
  lines.push(
    ...unexpected.map(
      ({ name, result: r }) => `  UNEXPECTED ${name}: ${r.actual ? 'reach' : 'no reach'}, expected ${r.reach ? 'reach' : 'no reach'} (${r.reason})`,
    ),
  );
  const timing = timings ? ` (build ${stage.seconds.build.toFixed(2)}s, apply ${stage.seconds.apply.toFixed(2)}s, probe ${stage.seconds.probe.toFixed(2)}s)` : '';
  const further = all.filter(({ result }) => result.ip !== undefined).length;
  const counted = (results: ProbeResult[]): string => {
    const pings = results.filter((r) => r.ip !== undefined).length;
    return further === 0 ? `${results.length}` : `${results.length - pings} + ${pings}`;
  };
  const perFamily = dualStack ? ` (${families.map(({ family, results }) => `${counted(results)} IPv${family}`).join(', ')})` : '';
  const what = further === 0 ? `${all.length} pairs` : `${all.length - further} pairs + ${further} pings of further addresses`;
  lines.push(`${what}${perFamily}: ${all.length - unexpected.length} as expected, ${unexpected.length} unexpected${timing}`);
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
