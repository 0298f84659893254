// renderNode: NodePlan -> the node's bash script. Pure: templates come in as strings, so this also runs in a browser.
import Handlebars from 'handlebars';
import type { NodePlan } from '../plan/plan.js';
import { shq } from './shq.js';
import { netDeviceUnit, unitValue } from './systemd.js';

export interface TemplateSources {
  main: string;
  /** Step partials by step id (templates/steps/). */
  steps: Record<string, string>;
  /** Other partials by name: migration, verify, teardown, install, unit (templates/*.hbs). */
  partials: Record<string, string>;
}

export interface RenderMeta {
  /** "macvlan-gen 0.1.0" */
  generator: string;
  configSha256: string;
}

export type NodeRenderer = (plan: NodePlan, meta: RenderMeta) => string;

export function createRenderer(templates: TemplateSources): NodeRenderer {
  const handlebars = Handlebars.create();
  // {{shq value}} quotes a value; {{#shq}}...{{/shq}} quotes what the block renders, less its last newline.
  handlebars.registerHelper('shq', function (this: unknown, ...args: unknown[]) {
    const options = args.pop() as Handlebars.HelperOptions;
    const value = args.length > 0 ? args[0] : options.fn(this).replace(/\n$/, '');
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(`shq: expected a string or number, got ${typeof value}`);
    }
    return shq(value);
  });
  handlebars.registerHelper('unitValue', (value: unknown) => unitValue(String(value)));
  handlebars.registerHelper('netDeviceUnit', (value: unknown) => netDeviceUnit(String(value)));
  const compileOptions = { noEscape: true, strict: true, preventIndent: false };
  for (const [name, source] of Object.entries({ ...templates.partials, ...templates.steps })) {
    handlebars.registerPartial(name, handlebars.compile(source, compileOptions));
  }
  const main = handlebars.compile(templates.main, compileOptions);
  return (plan, meta) => main({ node: plan, ...meta });
}
