import { validateText, renderConfig } from '../src/pipeline.js';
import { fleetConfig } from '../bench/fleet.js';
import { writeFileSync } from 'node:fs';
for (const N of [20, 200]) {
  const r = renderConfig(validateText(fleetConfig({ nodes: 1, namespaces: N }), 'b.yaml').config, 'bench');
  writeFileSync(`tmp-perf/A-${N}.sh`, r.scripts[0]!.content);
}
