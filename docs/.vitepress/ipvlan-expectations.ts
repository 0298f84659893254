// The ipvlan example's expected connectivity, from the lab's rules (src/lab/expect.ts), per stage: what the docs page
// "macvlan or ipvlan?" shows beside the recorded lab, and what the lab checks every probe against.
import { buildTopology, stageTopology } from '../../src/lab/topology.js';
import { expectReachability } from '../../src/lab/expect.js';
import { labStages } from '../../src/lab/stages.js';
import { buildPlan } from '../../src/plan/plan.js';
import type { Config } from '../../src/config/schema.js';

export function expectationsText(config: Config): string {
  const lab = buildTopology(buildPlan(config), 'mvlab-docs');
  return labStages(config, true)
    .map((stage) => {
      const pairs = expectReachability(stageTopology(lab, buildPlan(stage.config)));
      const width = Math.max(...pairs.map((p) => `${p.from} <-> ${p.to}`.length));
      const lines = pairs.map((p) => `  ${`${p.from} <-> ${p.to}`.padEnd(width)}  ${p.reach ? 'reach   ' : 'no reach'}  ${p.reason}`);
      return [`Stage ${stage.name}: ${stage.description}`, ...lines].join('\n');
    })
    .join('\n\n')
    .concat('\n');
}
