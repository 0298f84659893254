// apply, re-apply and teardown of 200 namespaces on one emulated node: the generated script against the
// hand-written `ip -batch` floor and the seed's one-`ip netns exec`-per-command way. Root only.
import { validateText, renderConfig } from '../src/pipeline.js';
import { EmulatedLab } from '../src/lab/emulated-lab.js';
import { fleetConfig } from './fleet.js';

const NAMESPACES = 200;
const ROUNDS = 3;
const config = validateText(fleetConfig({ nodes: 1, namespaces: NAMESPACES }), 'bench.yaml').config;
const node = config.nodes['node1'];
const spaces = Object.entries(node?.namespaces ?? {});
const parent = node?.parent ?? 'eth0';

/** The floor: one batch for the namespaces, one for the links, one per namespace inside it. */
const FLOOR = [
  `ip -batch - <<'EOF'\n${spaces.map(([name]) => `netns add ${name}`).join('\n')}\nEOF`,
  `ip -batch - <<'EOF'\n${spaces.map(([name, ns]) => `link add link ${parent} name ${ns.interface} type macvlan mode bridge\nlink set ${ns.interface} netns ${name}`).join('\n')}\nEOF`,
  ...spaces.map(
    ([name, ns]) =>
      `ip -n ${name} -batch - <<'EOF'\naddr add ${ns.address} dev ${ns.interface}\nlink set lo up\nlink set ${ns.interface} up\nroute add default via ${ns.gateway ?? ''} dev ${ns.interface}\nEOF`,
  ),
].join('\n');

/** The seed's way: every command on its own, inside the namespace through `ip netns exec`. */
const SEED_STYLE = spaces
  .map(([name, ns]) =>
    [
      `ip netns add ${name}`,
      `ip link add link ${parent} name ${ns.interface} type macvlan mode bridge`,
      `ip link set ${ns.interface} netns ${name}`,
      `ip netns exec ${name} ip addr add ${ns.address} dev ${ns.interface}`,
      `ip netns exec ${name} ip link set ${ns.interface} up`,
      `ip netns exec ${name} ip route add default via ${ns.gateway ?? ''} dev ${ns.interface}`,
    ].join('\n'),
  )
  .join('\n');

async function timed(lab: EmulatedLab, argv: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const run = await lab.runInNode('node1', argv);
  if (run.status !== 0) throw new Error(`${argv.join(' ')} failed: ${run.stderr.slice(0, 500)}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Runs `measure` in a fresh emulated node ROUNDS times and keeps the median. */
async function measure(label: string, work: (lab: EmulatedLab) => Promise<number>): Promise<number> {
  const rendered = renderConfig(config, 'bench');
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const lab = await EmulatedLab.build(rendered.plan, rendered.scripts);
    try {
      times.push(await work(lab));
    } finally {
      lab.remove();
    }
  }
  const value = median(times);
  console.log(`  ${label.padEnd(44)} ${value.toFixed(3).padStart(7)} s  (median of ${ROUNDS}: ${times.map((t) => t.toFixed(3)).join(', ')})`);
  return value;
}

export async function benchApply(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  console.log(`apply on one emulated node, ${NAMESPACES} namespaces (macvlan, address, link up, default route each):`);
  const script = (lab: EmulatedLab) => lab.scriptPath('node1');
  const floor = await measure('hand-written ip -batch floor', (lab) => timed(lab, ['bash', '-c', FLOOR]));
  const seed = await measure('seed-style, ip netns exec per command', (lab) => timed(lab, ['bash', '-c', SEED_STYLE]));
  const apply = await measure('generated script: apply', (lab) => timed(lab, ['bash', script(lab), 'apply']));
  const reapply = await measure('generated script: apply again (nothing to do)', async (lab) => {
    await timed(lab, ['bash', script(lab), 'apply']);
    return timed(lab, ['bash', script(lab), 'apply']);
  });
  const teardown = await measure('generated script: teardown', async (lab) => {
    await timed(lab, ['bash', script(lab), 'apply']);
    return timed(lab, ['bash', script(lab), 'teardown']);
  });
  return [
    { name: 'apply / floor', value: apply / floor, reference: floor, target: '<= 1.3', ok: apply / floor <= 1.3 },
    { name: 'seed-style / apply', value: seed / apply, reference: apply, target: '>= 6', ok: seed / apply >= 6 },
    { name: 're-apply / floor apply', value: reapply / floor, reference: floor, target: '<= 0.6', ok: reapply / floor <= 0.6 },
    { name: 'teardown / floor apply', value: teardown / floor, reference: floor, target: '(reported)', ok: true },
  ];
}
