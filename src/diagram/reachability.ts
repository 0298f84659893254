// reachabilitySvg: which endpoints of a lab stage reach each other, as a picture: a grid with a cell per pair,
// reach or blocked, and the reason of each cell as its tooltip. Pure: no Node-only module.
import type { Config } from '../config/schema.js';
import { expectReachability, type Expectation } from '../lab/expect.js';
import { labStages } from '../lab/stages.js';
import { buildTopology, stageTopology } from '../lab/topology.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import type { LabResult } from '../lab/runner.js';
import { svgDocument, topologySvg, xmlEscape } from './topology.js';

const MARGIN = 12;
const CELL = 30;
const LINE = 18;
const CHAR = 7.3;

// Light unless the page says dark, with a background of its own (see topology.ts).
const STYLE = `
.mvg-reach { --fg: #1f2328; --muted: #59636e; --line: #d0d7de; --bg: #ffffff; --reach: #aceebb; --blocked: #eaeef2; }
.dark .mvg-reach { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bg: #1b1b1f; --reach: #1b4721; --blocked: #262c36; }
.mvg-reach rect.background { fill: var(--bg); stroke: none; }
.mvg-reach text { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: var(--fg); }
.mvg-reach text.muted { fill: var(--muted); }
.mvg-reach rect { stroke: var(--line); stroke-width: 1; }
.mvg-reach rect.reach { fill: var(--reach); } .mvg-reach rect.blocked { fill: var(--blocked); } .mvg-reach rect.self { fill: none; }
.mvg-reach rect.surprise { stroke: #cf222e; stroke-width: 2; }
`;

/** A pair as the rules expect it, or as the lab measured it (then `actual` is what the ping did). */
type Cell = Expectation & { actual?: boolean };

/**
 * The grid of one stage (one family): the endpoints numbered down the left, the same numbers across the top, a cell per
 * pair (`ok` = reach, `--` = blocked; measured results that the rules did not predict marked `!`), each with its
 * reason as a tooltip, and the legend under it.
 */
export function reachabilitySvg(ids: string[], expectations: Cell[], caption: string): string {
  const verdicts = new Map(expectations.filter((e) => e.ip === undefined).flatMap((e) => [[`${e.from}\0${e.to}`, e] as const, [`${e.to}\0${e.from}`, e] as const]));
  const labels = ids.map((id, i) => `${i + 1} ${id}`);
  const labelWidth = Math.ceil(Math.max(...labels.map((label) => label.length)) * CHAR) + 12;
  const gridLeft = MARGIN + labelWidth;
  const gridTop = MARGIN + 2 * LINE + 4;
  const measured = expectations.some((e) => e.actual !== undefined);
  const legend = [`ok = reach, -- = blocked${measured ? ', ! = unexpected' : ''};`, 'hover a cell for the reason'];
  const textWidth = (lines: string[]): number => Math.ceil(Math.max(...lines.map((line) => line.length)) * CHAR);
  const width = Math.max(gridLeft + ids.length * CELL + MARGIN, 2 * MARGIN + textWidth([caption, ...legend]));
  const height = gridTop + ids.length * CELL + (legend.length + 1) * LINE + MARGIN;
  const parts = [`<text x="${MARGIN}" y="${MARGIN + 12}">${xmlEscape(caption)}</text>`];
  ids.forEach((_, column) => parts.push(`<text class="muted" x="${gridLeft + column * CELL + CELL / 2 - 4}" y="${gridTop - 6}">${column + 1}</text>`));
  ids.forEach((row, r) => {
    const y = gridTop + r * CELL;
    parts.push(`<text x="${MARGIN}" y="${y + CELL / 2 + 4}">${xmlEscape(labels[r] ?? row)}</text>`);
    ids.forEach((column, c) => {
      const x = gridLeft + c * CELL;
      if (row === column) {
        parts.push(`<rect class="self" x="${x}" y="${y}" width="${CELL}" height="${CELL}"/>`);
        return;
      }
      const verdict = verdicts.get(`${row}\0${column}`);
      const reach = verdict?.actual ?? verdict?.reach ?? false;
      const surprise = verdict?.actual !== undefined && verdict.actual !== verdict.reach;
      const why = surprise ? `not what the rules predict (${verdict?.reason ?? ''})` : (verdict?.reason ?? '');
      const title = verdict === undefined ? `${row} and ${column}: not probed` : `${row} ↔ ${column}: ${reach ? 'reach' : 'blocked'}, ${why}`;
      parts.push(
        `<g><title>${xmlEscape(title)}</title><rect class="${reach ? 'reach' : 'blocked'}${surprise ? ' surprise' : ''}" x="${x}" y="${y}" width="${CELL}" height="${CELL}"/>` +
          `<text x="${x + (surprise ? 4 : 8)}" y="${y + CELL / 2 + 4}">${reach ? 'ok' : '--'}${surprise ? '!' : ''}</text></g>`,
      );
    });
  });
  legend.forEach((line, i) => parts.push(`<text class="muted" x="${MARGIN}" y="${gridTop + ids.length * CELL + (i + 1) * LINE + 4}">${xmlEscape(line)}</text>`));
  return svgDocument({ className: 'mvg-reach', width, height, label: caption, style: STYLE }, parts);
}

/** One stage of a staged lab as pictures: its topology, wide and narrow, and its IPv4 reachability grid. */
export interface StagePictures {
  stage: string;
  description: string;
  wide: string;
  narrow: string;
  reach: string;
}

/** Each stage of the config's staged lab (as `macvlan-gen lab` runs it) as pictures, reachability as the lab's rules expect it. */
export function stagePictures(config: Config): StagePictures[] {
  const lab = buildTopology(buildPlan(config), 'mvlab-pictures');
  return labStages(config, true).map((stage, i, stages) => {
    const plan = buildPlan(stage.config);
    const topology = stageTopology(lab, plan);
    const caption = `Stage ${i + 1}/${stages.length} (${stage.name})`;
    return {
      stage: stage.name,
      description: stage.description,
      wide: topologySvg(plan, 'wide'),
      narrow: topologySvg(plan, 'narrow'),
      reach: reachabilitySvg(topology.endpoints.map((endpoint) => endpoint.id), expectReachability(topology), caption),
    };
  });
}

/** What `lab --pictures` writes: the topology, and each stage's measured reachability in each family. */
export function labPictures(plan: Plan, result: LabResult): { name: string; content: string }[] {
  const total = result.stages.length + result.notRun.length;
  return [
    { name: 'topology.svg', content: topologySvg(plan) },
    ...result.stages.flatMap((stage, i) => {
      const caption = `Stage ${i + 1}/${total} (${stage.name})`;
      const ids6 = stage.endpoints.flatMap((endpoint) => (endpoint.ip6 === undefined ? [] : [endpoint.id]));
      return [
        { name: `${stage.name}.svg`, content: reachabilitySvg(stage.endpoints.map((endpoint) => endpoint.id), stage.results, caption) },
        ...(stage.results6 === undefined ? [] : [{ name: `${stage.name}-ipv6.svg`, content: reachabilitySvg(ids6, stage.results6, `${caption}, IPv6`) }]),
      ];
    }),
  ];
}
