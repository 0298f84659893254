import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../src/pipeline.js';
import { buildPlan, type Plan } from '../../src/plan/plan.js';
import { topologySvg, xmlEscape } from '../../src/diagram/topology.js';
import { stagePictures } from '../../src/diagram/reachability.js';

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

  it('has one picture set per stage of the seed\'s staged lab, topology and grid', () => {
    expect(stages.map((stage) => stage.stage)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
    expect(texts(stages[0]?.wide ?? '')).not.toContain('host shim · mac0');
    expect(texts(stages[2]?.wide ?? '')).toContain('host shim · mac0');
    for (const stage of stages) expect(size(stage.reach).width).toBeLessThanOrEqual(390);
  });

  it('draws every pair as the recorded lab measured it, each cell with the reason as its tooltip', () => {
    for (const stage of stages) {
      const measured = recorded(stage.stage);
      expect(measured.size, stage.stage).toBe(49);
      const titles = [...stage.reach.matchAll(/<title>([^<]*)<\/title><rect class="(reach|blocked)"/g)].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
      expect(titles).toHaveLength(42);
      for (const [title, kind] of titles) {
        const [, a = '', b = ''] = /^(\S+) ↔ (\S+):/.exec(title.replace(/&#39;/g, "'")) ?? [];
        expect(measured.get(`${a} ${b}`), `${stage.stage}: ${a} ${b}`).toBe(kind === 'reach' ? 'ok' : '--');
      }
    }
  });
});
