// Which endpoints of a lab stage reach each other, as pictures: drawn on the stage's topology (reachOnTopologySvg, a
// line per pair between the boxes that hold them) and as a grid with a cell per pair (reachabilitySvg); reach or
// blocked, and the reason of each as its tooltip. Pure: no Node-only module.
import type { Config } from '../config/schema.js';
import { expectReachability, type Expectation } from '../lab/expect.js';
import { labStages } from '../lab/stages.js';
import { buildTopology, stageTopology } from '../lab/topology.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import type { LabResult } from '../lab/runner.js';
import { boxHeight, drawTopology, svgDocument, topologySvg, TOPOLOGY_STYLE, xmlEscape, type Box, type DiagramLayout } from './topology.js';

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

/** One pair of a stage, as the rules expect it or the lab measured it. */
export interface PairVerdict {
  a: string;
  b: string;
  reach: boolean;
  /** Measured otherwise than the rules predict. */
  surprise: boolean;
  reason: string;
}

/** Every pair of endpoints once, in the order of `ids`, with its verdict (the further addresses of an endpoint aside). */
export function stagePairs(ids: string[], cells: Cell[]): PairVerdict[] {
  const verdicts = new Map(cells.filter((e) => e.ip === undefined).flatMap((e) => [[`${e.from}\0${e.to}`, e] as const, [`${e.to}\0${e.from}`, e] as const]));
  return ids.flatMap((a, i) =>
    ids.slice(i + 1).flatMap((b) => {
      const verdict = verdicts.get(`${a}\0${b}`);
      if (verdict === undefined) return [];
      const surprise = verdict.actual !== undefined && verdict.actual !== verdict.reach;
      return [{ a, b, reach: verdict.actual ?? verdict.reach, surprise, reason: surprise ? `not what the rules predict (${verdict.reason})` : verdict.reason }];
    }),
  );
}

/** How a pair reads in a tooltip and in the text alternative. */
export const describePair = (pair: PairVerdict): string => `${pair.a} ↔ ${pair.b}: ${pair.reach ? 'reach' : 'blocked'}${pair.surprise ? ' (unexpected)' : ''}, ${pair.reason}`;

/** Room right of each node column for the lines between boxes of one column: wide, and narrow (within 390 px). */
const LANES: Record<DiagramLayout, number> = { wide: 64, narrow: 88 };

const REACH_STYLE = `${TOPOLOGY_STYLE}
.mvg { --reach: #1a7f37; --blocked: #cf222e; }
.dark .mvg { --reach: #3fb950; --blocked: #ff7b72; }
.mvg .pair { fill: none; stroke-width: 2; stroke-linejoin: round; } .mvg .pair.reach { stroke: var(--reach); } .mvg .pair.blocked { stroke: var(--blocked); stroke-dasharray: 7 4; }
.mvg .pair.surprise { stroke-width: 4; } .mvg .hit { fill: none; stroke: transparent; stroke-width: 10; pointer-events: stroke; }
.mvg g.line:hover .pair { stroke-width: 4; } .mvg circle.end { fill: var(--fg); stroke: var(--bg); stroke-width: 1.5; }
.mvg text.muted { fill: var(--muted); }
`;

interface Anchor {
  x: number;
  y: number;
  /** The box's left and right edges: lines leave on the side towards the other end. */
  left: number;
  right: number;
}

/** Where an endpoint sits in the drawing: the box that holds its address. */
function anchorOf(id: string, boxes: Map<string, Box>, movedHosts: Set<string>): Anchor | undefined {
  const at = (box: Box | undefined, y: number): Anchor | undefined => (box === undefined ? undefined : { x: box.x + box.width, y: box.y + y, left: box.x, right: box.x + box.width });
  const middle = (box: Box | undefined): Anchor | undefined => at(box, box === undefined ? 0 : boxHeight(box.lines) / 2);
  const router = boxes.get('router');
  if (id === 'gateway' || /^gateway\.\d+$/.test(id)) return at(router, 8 + 1.5 * 16);
  if (id === 'client') return boxes.has('outside') ? middle(boxes.get('outside')) : at(router, router === undefined ? 0 : boxHeight(router.lines) - 8 - 8);
  if (id.includes('/')) return middle(boxes.get(id));
  return middle(boxes.get(movedHosts.has(id) ? `${id}#shim` : id));
}

interface Routing {
  /** How far an arc within a column may reach into the lane, and the longest such arc. */
  room: number;
  span: number;
  step: number;
  corridor: { top: number; bottom: number };
}

const inOneColumn = (from: Anchor, to: Anchor): boolean => from.left < to.right && to.left < from.right;

const columnOf = (anchor: Anchor, step: number): number => Math.floor((anchor.left - 16) / step);

/**
 * A line from one endpoint to another: within a column an arc out into the lane, the further apart the wider, so that
 * arcs nest; to the next column an S-curve through the gap; to a column further away, down the lane into the band
 * under the switch (each such line `lane` apart from the others), along it, and down the gap before the far column.
 */
function pairPath(from: Anchor, to: Anchor, routing: Routing, lane: number): string {
  if (inOneColumn(from, to)) {
    const x = Math.max(from.right, to.right);
    const bulge = (8 + (routing.room - 8) * (Math.abs(to.y - from.y) / Math.max(1, routing.span))) / 0.75;
    return `M${from.right} ${from.y} C${x + bulge} ${from.y} ${x + bulge} ${to.y} ${to.right} ${to.y}`;
  }
  const [a, b] = from.left < to.left ? [from, to] : [to, from];
  if (columnOf(b, routing.step) - columnOf(a, routing.step) <= 1) {
    const half = (b.left - a.right) / 2;
    return `M${a.right} ${a.y} C${a.right + half} ${a.y} ${b.left - half} ${b.y} ${b.left} ${b.y}`;
  }
  const slots = Math.max(1, Math.floor((routing.corridor.bottom - routing.corridor.top - 8) / 3));
  const y = routing.corridor.top + 4 + (lane % slots) * 3;
  const down = a.right + 6 + (lane % 8) * 3;
  const up = 16 + columnOf(b, routing.step) * routing.step - 20 + (lane % 6) * 3;
  return `M${a.right} ${a.y} H${down} V${y} H${up} V${b.y} H${b.left}`;
}

/**
 * A stage's reachability drawn on its topology: a line per pair between the boxes holding the two endpoints, solid
 * and green where they reach each other, dashed and red where they do not (thick where the lab measured otherwise than
 * the rules predict), each with the pair and its reason as a tooltip; under it a legend; and every pair with its
 * reason in the picture's description, for screen readers.
 */
export function reachOnTopologySvg(plan: Plan, layout: DiagramLayout, ids: string[], cells: Cell[], caption: string): string {
  const lane = LANES[layout];
  const drawing = drawTopology(plan, layout, lane);
  const moved = new Set(plan.nodes.filter((node) => node.hostShim !== undefined).map((node) => node.name));
  const pairs = stagePairs(ids, cells);
  const anchors = new Map(ids.flatMap((id) => {
    const anchor = anchorOf(id, drawing.boxes, moved);
    return anchor === undefined ? [] : [[id, anchor] as const];
  }));
  const ends = (pair: PairVerdict): [Anchor, Anchor] | [] => {
    const from = anchors.get(pair.a);
    const to = anchors.get(pair.b);
    return from === undefined || to === undefined ? [] : [from, to];
  };
  const spans = pairs.flatMap((pair) => {
    const [from, to] = ends(pair);
    return from && to && inOneColumn(from, to) ? [Math.abs(to.y - from.y)] : [];
  });
  const span = Math.max(1, ...spans);
  const routing: Routing = { room: lane - 12, span, step: drawing.step, corridor: drawing.corridor };
  // Blocked lines last, over the others.
  const lines = [...pairs.filter((pair) => pair.reach), ...pairs.filter((pair) => !pair.reach)].flatMap((pair, i) => {
    const [from, to] = ends(pair);
    if (from === undefined || to === undefined) return [];
    const d = pairPath(from, to, routing, i);
    const kind = `${pair.reach ? 'reach' : 'blocked'}${pair.surprise ? ' surprise' : ''}`;
    return [`<g class="line"><title>${xmlEscape(describePair(pair))}</title><path class="pair ${kind}" d="${d}"/><path class="hit" d="${d}"/></g>`];
  });
  // The lines run under the boxes, so that every text stays readable; they show in the lanes and gaps between boxes.
  const dots = [...new Set([...anchors.values()].map((anchor) => `${anchor.x} ${anchor.y}`))].map((point) => {
    const [x, y] = point.split(' ');
    return `<circle class="end" cx="${x}" cy="${y}" r="3.5"/>`;
  });
  const reached = pairs.filter((pair) => pair.reach).length;
  const measured = cells.some((cell) => cell.actual !== undefined);
  const top = drawing.height;
  const legendX = 16;
  const sample = (y: number, kind: string, label: string): string[] => [
    `<path class="pair ${kind}" d="M${legendX} ${y - 4} H${legendX + 36}"/>`,
    `<text x="${legendX + 44}" y="${y}">${xmlEscape(label)}</text>`,
  ];
  const legend = [
    `<text class="title" x="${legendX}" y="${top + 4}">${xmlEscape(caption)}</text>`,
    ...sample(top + 24, 'reach', `reach (${reached} pairs)`),
    ...sample(top + 44, 'blocked', `blocked (${pairs.length - reached} pairs)`),
    ...(measured ? sample(top + 64, 'blocked surprise', 'thick: not what the rules predict') : []),
    `<text class="muted" x="${legendX}" y="${top + (measured ? 84 : 64)}">A line per pair; hover one for why.</text>`,
  ];
  const height = top + (measured ? 84 : 64) + 16;
  const parts = [
    `<desc>${xmlEscape(pairs.map(describePair).join('; '))}</desc>`,
    ...lines,
    ...drawing.parts,
    ...dots,
    ...legend,
  ];
  const label = `${caption}: reachability on the topology, ${reached} of ${pairs.length} pairs reach each other; blocked: ${
    pairs.filter((pair) => !pair.reach).map((pair) => `${pair.a} and ${pair.b}`).join(', ') || 'none'
  }`;
  return svgDocument({ className: 'mvg', width: drawing.width, height, label, style: REACH_STYLE }, parts);
}

/** One stage of a staged lab as pictures: its topology, and its reachability drawn on it, wide and narrow; the pairs in words. */
export interface StagePictures {
  stage: string;
  description: string;
  wide: string;
  narrow: string;
  reachWide: string;
  reachNarrow: string;
  /** Every pair with its verdict and reason: the text a reader gets without the picture. */
  pairs: PairVerdict[];
}

/** Each stage of the config's staged lab (as `macvlan-gen lab` runs it) as pictures, reachability as the lab's rules expect it. */
export function stagePictures(config: Config): StagePictures[] {
  const lab = buildTopology(buildPlan(config), 'mvlab-pictures');
  return labStages(config, true).map((stage, i, stages) => {
    const plan = buildPlan(stage.config);
    const topology = stageTopology(lab, plan);
    const caption = `Stage ${i + 1}/${stages.length} (${stage.name})`;
    const ids = topology.endpoints.map((endpoint) => endpoint.id);
    const expected = expectReachability(topology);
    return {
      stage: stage.name,
      description: stage.description,
      wide: topologySvg(plan, 'wide'),
      narrow: topologySvg(plan, 'narrow'),
      reachWide: reachOnTopologySvg(plan, 'wide', ids, expected, caption),
      reachNarrow: reachOnTopologySvg(plan, 'narrow', ids, expected, caption),
      pairs: stagePairs(ids, expected),
    };
  });
}

/**
 * What `lab --pictures` writes: the topology, and per stage its measured reachability drawn on the stage's topology
 * (<stage>.svg; in dual stack also <stage>-ipv6.svg) and as a grid (<stage>-grid.svg, <stage>-ipv6-grid.svg).
 */
export function labPictures(config: Config, result: LabResult): { name: string; content: string }[] {
  const total = result.stages.length + result.notRun.length;
  const plans = new Map(labStages(config, true).map((stage) => [stage.name, buildPlan(stage.config)]));
  return [
    { name: 'topology.svg', content: topologySvg(buildPlan(config)) },
    ...result.stages.flatMap((stage, i) => {
      const plan = plans.get(stage.name) ?? buildPlan(config);
      const caption = `Stage ${i + 1}/${total} (${stage.name})`;
      const ids = stage.endpoints.map((endpoint) => endpoint.id);
      const ids6 = stage.endpoints.flatMap((endpoint) => (endpoint.ip6 === undefined ? [] : [endpoint.id]));
      const families = [
        { suffix: '', ids, results: stage.results, caption },
        ...(stage.results6 === undefined ? [] : [{ suffix: '-ipv6', ids: ids6, results: stage.results6, caption: `${caption}, IPv6` }]),
      ];
      return families.flatMap((family) => [
        { name: `${stage.name}${family.suffix}.svg`, content: reachOnTopologySvg(plan, 'wide', family.ids, family.results, family.caption) },
        { name: `${stage.name}${family.suffix}-grid.svg`, content: reachabilitySvg(family.ids, family.results, family.caption) },
      ]);
    }),
  ];
}
