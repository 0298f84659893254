// topologySvg: a Plan -> an SVG picture of the network it sets up: the gateway router and the outside beyond it, the
// LAN switch, and each node with its parent NIC, the namespaces' macvlans (or ipvlans) with their modes, addresses,
// gateways and VLANs, and the host shim. Pure: no Node-only module, so the docs site and a browser can use it too.
import type { NamespacePlan, NodePlan, Plan } from '../plan/plan.js';
import { namespaceAddresses } from '../plan/plan.js';

/** wide: the nodes side by side; narrow: one above the other, for a phone's width. */
export type DiagramLayout = 'wide' | 'narrow';

const MARGIN = 16;
const COLUMN = 264;
const GAP = 24;
const LINE = 16;
const PAD = 8;
const BOX_GAP = 10;
const FONT = 12;
/** A little over the width of one character of the 12 px monospace font: what a line of text may take. */
const CHAR = 7.3;

export interface Box {
  x: number;
  y: number;
  width: number;
  lines: string[];
  /** A CSS class of the style sheet below. */
  kind: 'parent' | 'child' | 'shim' | 'router' | 'outside';
}

export const boxHeight = (lines: string[]): number => lines.length * LINE + 2 * PAD;

/** Escapes text for an SVG text node or attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Cuts a line to what fits in a box, marking the cut. */
function fit(text: string, width: number): string {
  const room = Math.floor((width - 2 * PAD) / CHAR);
  return text.length <= room ? text : `${text.slice(0, Math.max(1, room - 1))}…`;
}

/** A line of text; one cut to fit carries the whole of it as its tooltip. */
function textLine(x: number, y: number, line: string, width: number, title = false): string {
  const shown = fit(line, width);
  const tooltip = shown === line ? '' : `<title>${xmlEscape(line)}</title>`;
  return `<text x="${x}" y="${y}"${title ? ' class="title"' : ''}>${tooltip}${xmlEscape(shown)}</text>`;
}

function drawBox(box: Box): string[] {
  const height = boxHeight(box.lines);
  const texts = box.lines.map((line, i) => textLine(box.x + PAD, box.y + PAD + (i + 1) * LINE - 4, line, box.width, i === 0));
  return [`<rect class="${box.kind}" x="${box.x}" y="${box.y}" width="${box.width}" height="${height}" rx="6"/>`, ...texts];
}

const wire = (x1: number, y1: number, x2: number, y2: number, dashed = false): string =>
  `<path class="wire${dashed ? ' dashed' : ''}" d="M${x1} ${y1} V${(y1 + y2) / 2} H${x2} V${y2}"/>`;

const linkKind = (ns: { type: string; mode: string }): string => `${ns.type} ${ns.mode}`;

function namespaceLines(ns: NamespacePlan): string[] {
  const gateways = [ns.gateway, ns.gateway6].filter((gateway): gateway is string => gateway !== undefined);
  return [
    `${ns.name} · ${ns.interface}`,
    linkKind(ns),
    ...(ns.vlan === undefined ? [] : [`VLAN ${ns.vlan} via ${ns.lower}`]),
    ...namespaceAddresses(ns),
    ...(gateways.length > 0 ? gateways.map((gateway) => `gateway ${gateway}`) : ['no default route']),
    ...ns.routes.flatMap((route) => [`route ${route.to}`, `  via ${route.via}`]),
  ];
}

function shimLines(node: NodePlan): string[] | undefined {
  if (node.hostShim) {
    const moved = [node.hostAddress, node.hostAddress6].filter((address): address is string => address !== undefined);
    return [`host shim · ${node.hostShim.interface}`, linkKind(node.hostShim), ...moved.map((address) => `takes ${address}`), 'from the parent, guarded'];
  }
  if (node.addressShim) {
    const own = [node.addressShim.address, node.addressShim.address6].filter((address): address is string => address !== undefined);
    return [`host shim · ${node.addressShim.interface}`, linkKind(node.addressShim), ...own, 'the host address stays'];
  }
  return undefined;
}

function parentLines(node: NodePlan): string[] {
  const addresses = [node.hostAddress, node.hostAddress6].filter((address): address is string => address !== undefined);
  const notes = [node.promisc ? 'promiscuous' : '', node.vlans.length > 0 ? `VLANs ${node.vlans.map((vlan) => vlan.id).join(', ')}` : ''].filter(Boolean);
  const moves = node.hostShim ? [`(moves to ${node.hostShim.interface} on apply)`] : [];
  return [`${node.name} · ${node.parent}`, ...addresses, ...moves, ...(notes.length > 0 ? [notes.join(', ')] : [])];
}

/** One node's column: its parent NIC on top, a bus below it, each link on the bus; its boxes by what they hold. */
function nodeColumn(node: NodePlan, x: number, top: number): { parts: string[]; height: number; boxes: [string, Box][] } {
  const width = COLUMN;
  const parent: Box = { x, y: top, width, lines: parentLines(node), kind: 'parent' };
  const parts = drawBox(parent);
  const busX = x + 14;
  const childX = x + 30;
  let y = top + boxHeight(parent.lines) + BOX_GAP;
  const children: [string, Box][] = node.namespaces.map((ns) => {
    const box: Box = { x: childX, y, width: width - 30, lines: namespaceLines(ns), kind: 'child' };
    y += boxHeight(box.lines) + BOX_GAP;
    return [`${node.name}/${ns.name}`, box];
  });
  const shim = shimLines(node);
  if (shim) {
    children.push([`${node.name}#shim`, { x: childX, y, width: width - 30, lines: shim, kind: 'shim' }]);
    y += boxHeight(shim) + BOX_GAP;
  }
  const last = children.at(-1)?.[1];
  if (last) parts.push(`<path class="wire" d="M${busX} ${top + boxHeight(parent.lines)} V${last.y + 18}"/>`);
  for (const [, child] of children) parts.push(`<path class="wire" d="M${busX} ${child.y + 18} H${child.x}"/>`, ...drawBox(child));
  return { parts, height: y - top - BOX_GAP, boxes: [[node.name, parent], ...children] };
}

/** Every gateway the config names, of hosts and namespaces, in the order first named. */
function gatewaysOf(plan: Plan): string[] {
  const all = plan.nodes.flatMap((node) => [node.gateway, node.gateway6, ...node.namespaces.flatMap((ns) => [ns.gateway, ns.gateway6])]);
  return [...new Set(all.filter((gateway): gateway is string => gateway !== undefined))];
}

// Light unless the page says dark (VitePress puts .dark on <html>): a media query would follow the computer's setting
// even where the page is light. The background makes a file opened on its own readable either way.
export const TOPOLOGY_STYLE = `
.mvg { --fg: #1f2328; --muted: #59636e; --line: #8c959f; --bg: #ffffff; --parent: #ddf4ff; --child: #dafbe1; --shim: #fff8c5; --router: #f6f8fa; }
.dark .mvg { --fg: #e6edf3; --muted: #9198a1; --line: #6e7681; --bg: #1b1b1f; --parent: #0c2d4a; --child: #0f3320; --shim: #3b2e00; --router: #21262d; }
.mvg rect.background { fill: var(--bg); stroke: none; }
.mvg text { font: ${FONT}px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: var(--fg); }
.mvg text.title { font-weight: bold; }
.mvg rect { stroke: var(--line); stroke-width: 1; }
.mvg rect.parent { fill: var(--parent); } .mvg rect.child { fill: var(--child); } .mvg rect.shim { fill: var(--shim); }
.mvg rect.router, .mvg rect.outside, .mvg rect.switch { fill: var(--router); }
.mvg .wire { fill: none; stroke: var(--line); stroke-width: 1.5; } .mvg .dashed { stroke-dasharray: 4 3; }
`;

/**
 * The drawing of a plan's network: its parts, its size, and its boxes by what they hold ('router', 'outside' (absent
 * when it is folded into the router's box), a node's name for its parent, `<node>/<namespace>`, `<node>#shim`).
 * `lane` leaves that much room right of each node column, for what is drawn over the picture.
 */
export interface TopologyDrawing {
  width: number;
  height: number;
  parts: string[];
  boxes: Map<string, Box>;
  /** The distance from one node column to the next, and the free band between the switch and the nodes. */
  step: number;
  corridor: { top: number; bottom: number };
}

export function drawTopology(plan: Plan, layout: DiagramLayout = 'wide', lane = 0): TopologyDrawing {
  const nodes = plan.nodes;
  const columns = layout === 'wide' ? Math.max(1, nodes.length) : 1;
  const step = COLUMN + GAP + lane;
  const width = 2 * MARGIN + columns * (COLUMN + lane) + (columns - 1) * GAP;
  const parts: string[] = [];
  const boxes = new Map<string, Box>();

  const gateways = gatewaysOf(plan);
  const router: Box = { x: MARGIN, y: MARGIN, width: COLUMN, lines: ['gateway router', ...(gateways.length > 0 ? gateways : ['(none in the config)'])], kind: 'router' };
  const outsideWidth = Math.min(COLUMN, width - 2 * MARGIN - COLUMN - GAP - lane);
  if (outsideWidth >= 120) {
    const outside: Box = { x: MARGIN + step, y: MARGIN, width: outsideWidth, lines: ['outside', 'clients in other subnets'], kind: 'outside' };
    parts.push(`<path class="wire dashed" d="M${router.x + COLUMN} ${MARGIN + 20} H${outside.x}"/>`, ...drawBox(outside));
    boxes.set('outside', outside);
  } else router.lines.push('→ clients outside');
  parts.push(...drawBox(router));
  boxes.set('router', router);

  const vlans = [...new Set(nodes.flatMap((node) => node.vlans.map((vlan) => vlan.id)))].sort((a, b) => a - b);
  const switchY = MARGIN + boxHeight(router.lines) + 2 * BOX_GAP;
  const switchHeight = 28;
  const switchLabel = `LAN switch${vlans.length > 0 ? ` · VLANs ${vlans.join(', ')} tagged` : ''}`;
  parts.push(
    wire(MARGIN + 40, MARGIN + boxHeight(router.lines), MARGIN + 40, switchY),
    `<rect class="switch" x="${MARGIN}" y="${switchY}" width="${width - 2 * MARGIN - lane}" height="${switchHeight}" rx="4"/>`,
    textLine(MARGIN + PAD, switchY + 18, switchLabel, width - 2 * MARGIN - lane, true),
  );

  const rowTop = switchY + switchHeight + 3 * BOX_GAP;
  let y = rowTop;
  let tallest = 0;
  nodes.forEach((node, i) => {
    const column = layout === 'wide' ? i : 0;
    const x = MARGIN + column * step;
    const top = layout === 'wide' ? rowTop : y;
    const drawn = nodeColumn(node, x, top);
    // Narrow: the nodes hang one below the other on a cable down the right edge, clear of the boxes above.
    const cableX = MARGIN + COLUMN + MARGIN / 2;
    const cable =
      layout === 'wide'
        ? wire(x + COLUMN / 2, switchY + switchHeight, x + COLUMN / 2, top)
        : `<path class="wire" d="M${cableX - MARGIN / 2} ${switchY + switchHeight / 2} H${cableX} V${top + 18} H${x + COLUMN}"/>`;
    parts.push(cable, ...drawn.parts);
    for (const [key, box] of drawn.boxes) boxes.set(key, box);
    tallest = Math.max(tallest, drawn.height);
    y = top + drawn.height + 3 * BOX_GAP;
  });
  const height = (layout === 'wide' ? rowTop + tallest : y - 3 * BOX_GAP) + MARGIN;
  return { width, height, parts, boxes, step, corridor: { top: switchY + switchHeight, bottom: rowTop } };
}

/** The picture of a plan's network, as a standalone SVG document (it scales to its container's width). */
export function topologySvg(plan: Plan, layout: DiagramLayout = 'wide'): string {
  const { width, height, parts } = drawTopology(plan, layout);
  return svgDocument({ className: 'mvg', width, height, label: describe(plan), style: TOPOLOGY_STYLE }, parts);
}

/** A standalone SVG document: its size, a label for screen readers, its style sheet, a background, then the parts. */
export function svgDocument(frame: { className: string; width: number; height: number; label: string; style: string }, parts: string[]): string {
  const { className, width, height, label, style } = frame;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="${className}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${xmlEscape(label)}">`,
    `<style>${style}</style>`,
    `<rect class="background" width="${width}" height="${height}"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** One sentence for screen readers. */
function describe(plan: Plan): string {
  const nodes = plan.nodes.map((node) => `${node.name} with ${node.namespaces.map((ns) => ns.name).join(', ') || 'no namespaces'}`);
  return `Network topology: a gateway router and a LAN switch; ${nodes.join('; ')}`;
}
