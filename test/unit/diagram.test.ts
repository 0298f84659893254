import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../src/pipeline.js';
import { buildPlan, type Plan } from '../../src/plan/plan.js';
import { topologySvg, xmlEscape } from '../../src/diagram/topology.js';
import { reachOnTopologySvg, stagePictures } from '../../src/diagram/reachability.js';

const planOf = (name: string): Plan =>
  buildPlan(validateText(readFileSync(new URL(`../../examples/${name}.yaml`, import.meta.url), 'utf8'), `${name}.yaml`).config);

/** The text of every <text> element, unescaped. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => (m[1] ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'));
const size = (svg: string): { width: number; height: number } => {
  const [, width = '0', height = '0'] = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(svg) ?? [];
  return { width: Number(width), height: Number(height) };
};

describe('topology picture', () => {
  it('draws the seed: gateway, switch, both nodes with parent and host address, the namespaces, and node1\'s shim', () => {
    const svg = topologySvg(planOf('seed'));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="mvg" viewBox="0 0 ')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const shown = texts(svg);
    for (const text of [
      'gateway router', '192.168.1.1', 'LAN switch',
      'node1 · ens160', '192.168.179.9/16', '(moves to mac0 on apply)', 'promiscuous',
      'ns1 · mac1', 'macvlan bridge', '192.168.179.12/16', 'gateway 192.168.1.1', 'ns2 · mac2', '192.168.179.13/16', 'no default route',
      'host shim · mac0', 'takes 192.168.179.9/16',
      'node2 · ens160', '192.168.179.10/16', '192.168.179.14/16',
    ]) expect(shown).toContain(text);
    expect(svg).toContain('aria-label="Network topology: a gateway router and a LAN switch; node1 with ns1, ns2; node2 with ns1"');
  });

  it('shows VLANs on the switch and the namespaces, ipvlan modes, and a shim that keeps the host address', () => {
    const vlans = texts(topologySvg(planOf('vlans')));
    expect(vlans).toContain('LAN switch · VLANs 50, 60 tagged');
    expect(vlans).toContain('VLAN 50 via ens160.50');
    expect(texts(topologySvg(planOf('ipvlan')))).toEqual(expect.arrayContaining(['ipvlan l2', 'ipvlan l3']));
    const keeps = texts(topologySvg(planOf('shim-keeps-address')));
    expect(keeps).toContain('the host address stays');
    expect(keeps).not.toContain('(moves to mac0 on apply)');
  });

  it('fits a 390 px phone in the narrow layout, and puts nodes side by side in the wide one', () => {
    const plan = planOf('three-nodes');
    const narrow = size(topologySvg(plan, 'narrow'));
    const wide = size(topologySvg(plan, 'wide'));
    expect(narrow.width).toBeLessThanOrEqual(390);
    expect(wide.width).toBeGreaterThan(2 * narrow.width);
    expect(narrow.height).toBeGreaterThan(wide.height);
  });

  it('escapes what it draws and cuts a line too long for its box', () => {
    expect(xmlEscape(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&#39;');
    const plan = planOf('seed');
    const long = 'x'.repeat(80);
    const node = plan.nodes[0];
    if (!node) throw new Error('no node');
    const svg = topologySvg({ ...plan, nodes: [{ ...node, name: `<${long}>` }] });
    expect(svg).not.toContain(`<${long}`);
    expect(svg).toContain(`<title>&lt;${long}&gt; · ens160</title>&lt;xxx`);
  });

  it('cuts nothing of any example, in either layout: one fact a line', () => {
    for (const name of readdirSync(new URL('../../examples/', import.meta.url)).filter((file) => file.endsWith('.yaml'))) {
      const plan = planOf(name.replace(/\.yaml$/, ''));
      for (const layout of ['wide', 'narrow'] as const) expect(topologySvg(plan, layout), `${name} ${layout}`).not.toContain('…');
    }
  });

  it('is light unless the page is dark, on a background of its own, whatever the computer prefers', () => {
    const svg = topologySvg(planOf('seed'));
    expect(svg).not.toContain('prefers-color-scheme');
    expect(svg).toContain('.dark .mvg {');
    expect(svg).toMatch(/<rect class="background" width="\d+" height="\d+"\/>/);
  });
});

describe('stage pictures', () => {
  const seed = validateText(readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8'), 'seed.yaml').config;
  const stages = stagePictures(seed);

  /** The recorded lab's matrix of a stage (docs/generated/lab/seed): each pair's ok or --, and any surprise mark. */
  const recorded = (stage: string): Map<string, string> => {
    const lines = readFileSync(new URL(`../../docs/generated/lab/seed/lab-${stage}.txt`, import.meta.url), 'utf8').split('\n');
    const ids = (lines[1] ?? '').trim().split(/\s+/);
    const cells = new Map<string, string>();
    for (const line of lines.slice(2, 2 + ids.length)) {
      const [row = '', ...values] = line.trim().split(/\s+/);
      values.forEach((value, i) => cells.set(`${row} ${ids[i] ?? ''}`, value));
    }
    return cells;
  };

  /** The x and y coordinates of a path of M, C (point pairs), H (x) and V (y) commands. */
  const pathPoints = (d: string): { xs: number[]; ys: number[] } => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [, command = '', args = ''] of d.matchAll(/([MCHV])([^MCHV]*)/g)) {
      const numbers = args.trim().split(/\s+/).map(Number);
      if (command === 'H') xs.push(...numbers);
      else if (command === 'V') ys.push(...numbers);
      else numbers.forEach((n, i) => (i % 2 === 0 ? xs : ys).push(n));
    }
    return { xs, ys };
  };

  /** Each line of a reachability picture: its tooltip (unescaped) and its style. */
  const lines = (svg: string): { title: string; kind: string; d: string }[] =>
    [...svg.matchAll(/<g class="line"><title>([^<]*)<\/title><path class="pair ([^"]+)" d="([^"]+)"\/>/g)].map((m) => ({
      title: (m[1] ?? '').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
      kind: m[2] ?? '',
      d: m[3] ?? '',
    }));

  it('has one picture set per stage of the seed\'s staged lab: the topology, and reachability drawn on it', () => {
    expect(stages.map((stage) => stage.stage)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
    expect(texts(stages[0]?.wide ?? '')).not.toContain('host shim · mac0');
    expect(texts(stages[2]?.wide ?? '')).toContain('host shim · mac0');
    expect(texts(stages[2]?.reachWide ?? '')).toContain('host shim · mac0');
    for (const stage of stages) {
      expect(size(stage.reachNarrow).width, stage.stage).toBeLessThanOrEqual(390);
      expect(size(stage.reachWide).width).toBeGreaterThan(size(stage.reachNarrow).width);
      for (const svg of [stage.reachWide, stage.reachNarrow]) {
        expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="mvg" ')).toBe(true);
        expect(texts(svg)).toEqual(expect.arrayContaining(['gateway router', 'LAN switch', 'node1 · ens160', 'ns1 · mac1']));
      }
    }
  });

  it('draws every pair once, as the recorded lab measured it, with the pair and its reason as the tooltip', () => {
    for (const stage of stages) {
      const measured = recorded(stage.stage);
      expect(measured.size, stage.stage).toBe(49);
      for (const svg of [stage.reachWide, stage.reachNarrow]) {
        const drawn = lines(svg);
        expect(drawn).toHaveLength(21);
        expect(new Set(drawn.map((line) => line.title.split(':')[0])).size).toBe(21);
        for (const line of drawn) {
          const [, a = '', b = '', verdict = '', reason = ''] = /^(\S+) ↔ (\S+): (reach|blocked), (.+)$/.exec(line.title) ?? [];
          expect(measured.get(`${a} ${b}`), `${stage.stage}: ${a} ${b}`).toBe(verdict === 'reach' ? 'ok' : '--');
          expect(line.kind).toBe(verdict);
          expect(reason).toBe(stage.pairs.find((pair) => pair.a === a && pair.b === b)?.reason);
        }
      }
      expect(stage.pairs).toHaveLength(21);
      for (const pair of stage.pairs) expect(pair.reason.length, `${pair.a} ${pair.b}`).toBeGreaterThan(10);
    }
  });

  it('tells reach from blocked without colour too, explains the styles in a legend, and every pair in its description', () => {
    const stage = stages[0];
    if (!stage) throw new Error('no stage');
    const svg = stage.reachWide;
    expect(svg).toMatch(/\.mvg \.pair\.blocked \{[^}]*stroke-dasharray: 7 4;/);
    expect(svg).not.toMatch(/\.mvg \.pair\.reach \{[^}]*stroke-dasharray/);
    expect(svg).toContain('.dark .mvg { --reach: ');
    expect(svg).not.toContain('prefers-color-scheme');
    expect(texts(svg)).toEqual(expect.arrayContaining(['Stage 1/3 (no-default-routes)', 'reach (15 pairs)', 'blocked (6 pairs)', 'A line per pair; hover one for why.']));
    expect(svg).toContain('aria-label="Stage 1/3 (no-default-routes): reachability on the topology, 15 of 21 pairs reach each other; blocked: node1 and node1/ns1, ');
    const description = /<desc>([^<]*)<\/desc>/.exec(svg)?.[1]?.replace(/&#39;/g, "'") ?? '';
    for (const pair of stage.pairs) expect(description).toContain(`${pair.a} ↔ ${pair.b}: ${pair.reach ? 'reach' : 'blocked'}, ${pair.reason}`);
  });

  it('keeps every line and the legend inside the picture, and cuts no text, for the seed and three nodes in either layout', () => {
    const threeNodes = validateText(readFileSync(new URL('../../examples/three-nodes.yaml', import.meta.url), 'utf8'), 'three-nodes.yaml').config;
    for (const stage of [...stages, ...stagePictures(threeNodes)]) {
      for (const svg of [stage.reachWide, stage.reachNarrow]) {
        const { width, height } = size(svg);
        expect(svg).not.toContain('…');
        expect(lines(svg)).toHaveLength(stage.pairs.length);
        for (const line of lines(svg)) {
          const { xs, ys } = pathPoints(line.d);
          expect(Math.min(...xs, ...ys), line.title).toBeGreaterThanOrEqual(0);
          expect(Math.max(...xs), line.title).toBeLessThanOrEqual(width);
          expect(Math.max(...ys), line.title).toBeLessThanOrEqual(height);
        }
        const baselines = [...svg.matchAll(/<text [^>]*y="(\d+(?:\.\d+)?)"/g)].map((m) => Number(m[1]));
        expect(Math.max(...baselines)).toBeLessThan(height);
      }
    }
  });

  it('escapes the pairs and reasons it draws, and marks what the lab measured otherwise than the rules predict', () => {
    const plan = planOf('seed');
    const svg = reachOnTopologySvg(plan, 'wide', ['node1', 'node2'], [{ from: 'node1', to: 'node2', reach: false, reason: `a <b> & "c" 'd'`, actual: true }], 'Stage <1>');
    expect(svg).toContain(`<title>node1 ↔ node2: reach (unexpected), not what the rules predict (a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;)</title><path class="pair reach surprise"`);
    expect(svg).toContain('aria-label="Stage &lt;1&gt;: reachability on the topology, 1 of 1 pairs reach each other; blocked: none"');
    expect(texts(svg)).toContain('thick: not what the rules predict');
    expect(svg).not.toContain('<b>');
  });
});
