import { validateText, renderConfig } from '../src/pipeline.js';
import { EmulatedLab } from '../src/lab/emulated-lab.js';
import { fleetConfig } from '../bench/fleet.js';
const N = Number(process.argv[2] ?? 200);
const mode = process.argv[3] ?? 'reapply';
const r = renderConfig(validateText(fleetConfig({ nodes: 1, namespaces: N }), 'b.yaml').config, 'bench');
const lab = await EmulatedLab.build(r.plan, r.scripts);
try {
  const s = lab.scriptPath('node1');
  if (mode !== 'apply') await lab.runInNode('node1', ['bash', s, 'apply']);
  const cmd = mode === 'teardown' ? 'teardown' : 'apply';
  const x = await lab.runInNode('node1', ['bash', '-c', `bash /work/main/tmp-perf/trace.sh ${s} ${cmd} 2>/tmp/trace.txt >/dev/null`]);
  console.log('status', x.status, x.stderr.slice(0, 200));
} finally { lab.remove(); }
