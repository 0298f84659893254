import { describe, expect, it } from 'vitest';
import { loadTemplates } from '../../src/package-info.js';
import { STEP_ORDER } from '../../src/plan/plan.js';

const templates = loadTemplates();
const all = {
  'node.sh.hbs': templates.main,
  ...Object.fromEntries(Object.entries(templates.partials).map(([name, text]) => [`${name}.hbs`, text])),
  ...Object.fromEntries(Object.entries(templates.steps).map(([id, text]) => [`steps/${id}.hbs`, text])),
};
const MUSTACHE = /\{\{([^}]*)\}\}/g;

// The systemd unit is the one template that is not bash: its values are escaped for a unit file, and the script
// carries the whole rendered unit as one quoted value ({{#shq}}{{> unit}}{{/shq}}).
const UNIT_TEMPLATE = 'unit.hbs';
const BASH_VALUE = /^(#each|#if|\/each|\/if|else$|> |shq |#shq$|\/shq$)/;
const UNIT_VALUE = /^(#if|\/if|else$|unitValue |netDeviceUnit )/;

describe('templates only loop, branch and quote', () => {
  it.each(Object.entries(all))('%s: every {{...}} is #each, #if, a closing tag, a partial or a quoting helper', (name, text) => {
    const allowed = name === UNIT_TEMPLATE ? UNIT_VALUE : BASH_VALUE;
    const bare = [...text.matchAll(MUSTACHE)].map((match) => (match[1] ?? '').trim()).filter((inner) => !allowed.test(inner));
    expect(bare).toEqual([]);
  });

  it.each(Object.entries(all))('%s: no quoted value sits inside a quoted string (quotes do not nest)', (_name, text) => {
    const inside = text.split('\n').filter((line) =>
      line
        .split('{{shq')
        .slice(0, -1)
        .some((_part, i, parts) => {
          const before = parts.slice(0, i + 1).join('{{shq').replace(/\{\{shq [^}]*\}\}/g, '');
          return (before.match(/"/g) ?? []).length % 2 === 1 || (before.match(/'/g) ?? []).length % 2 === 1;
        }),
    );
    expect(inside).toEqual([]);
  });

  it('has exactly one partial per step, each wrapped in matching region markers', () => {
    expect(Object.keys(templates.steps).sort()).toEqual([...STEP_ORDER].sort());
    for (const [id, text] of Object.entries(templates.steps)) {
      const lines = text.trimEnd().split('\n');
      expect(lines[0]?.trim()).toBe(`# region ${id}`);
      expect(lines[lines.length - 1]?.trim()).toBe(`# endregion ${id}`);
    }
  });
});
