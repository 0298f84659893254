// A/B: two rendered scripts (A = dist of git HEAD templates saved to tmp-perf/A.sh, B = current) on one lab; alternate.
import { validateText, renderConfig } from '../src/pipeline.js';
import { EmulatedLab } from '../src/lab/emulated-lab.js';
import { fleetConfig } from '../bench/fleet.js';
import { readFileSync, writeFileSync } from 'node:fs';
const N = Number(process.argv[2] ?? 200);
const config = validateText(fleetConfig({ nodes: 1, namespaces: N }), 'b.yaml').config;
const r = renderConfig(config, 'bench');
writeFileSync(`tmp-perf/B-${N}.sh`, r.scripts[0]!.content);
const variants = { A: readFileSync(`tmp-perf/A-${N}.sh`, 'utf8'), B: r.scripts[0]!.content };
const lab = await EmulatedLab.build(r.plan, r.scripts);
const res: Record<string, number[]> = {};
try {
  for (let round = 0; round < 3; round++) for (const [name, content] of Object.entries(variants)) {
    writeFileSync(`/run/${lab.prefix}/scripts/${name}.sh`, content);
    for (const label of ['apply', 'reapply', 'teardown']) { const cmd = label === 'reapply' ? 'apply' : label;
      const a = process.hrtime.bigint();
      const x = await lab.runInNode('node1', ['bash', `/run/${lab.prefix}/scripts/${name}.sh`, cmd]);
      if (x.status) throw new Error(x.stderr);
      (res[`${name} ${label}`] ??= []).push(Number(process.hrtime.bigint() - a) / 1e6);
    }
  }
} finally { lab.remove(); }
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(16), Math.min(...v).toFixed(0), v.map((x) => x.toFixed(0)).join(' '));
