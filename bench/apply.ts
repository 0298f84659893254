// apply, re-apply and teardown on one emulated node with 1, 20 and 200 namespaces: the generated script against the
// best hand-written way to do the same work (the floors below) and the seed's one-`ip netns exec`-per-command way,
// side by side in one run. Root only.
import { validateText, renderConfig } from '../src/pipeline.js';
import { EmulatedLab } from '../src/lab/emulated-lab.js';
import { fleetConfig } from './fleet.js';

const SIZES = [1, 20, 200];
const ROUNDS = 3;
const STATE = `link show\naddr show\nroute show`;

interface Space {
  name: string;
  iface: string;
  address: string;
  gateway: string;
}

/**
 * The hand-written ways. Each is the fewest processes that do the work: one `ip -batch` for every namespace, one for
 * every link, made right inside its namespace (moving a link afterwards costs the kernel an RCU wait per link), and
 * one `ip -n NS -batch` per namespace: in turn, or in K streams (background shells that each run their share in turn),
 * or all at once (one background ip per namespace). Deleting links gains the most from more at once: the kernel's wait
 * after each (RCU) uses no CPU, and the waits overlap. The fastest way is the floor.
 */
const WAYS = ['serial', '2 streams', '4 streams', '8 streams', '16 streams', '32 streams', 'all at once'] as const;
type Way = (typeof WAYS)[number];

function floors(spaces: Space[], parent: string) {
  // body(s, ' &') runs in the background, body(s, '') in turn.
  const perNamespace = (body: (s: Space, after: string) => string, way: Way): string => {
    if (way === 'serial') return spaces.map((s) => body(s, '')).join('\n');
    if (way === 'all at once') return spaces.map((s) => body(s, ' &')).join('\n') + '\nwait';
    const k = Number.parseInt(way, 10);
    const streams = Array.from({ length: k }, (_, j) => spaces.filter((_, i) => i % k === j)).filter((share) => share.length > 0);
    return streams.map((share) => `{\n${share.map((s) => body(s, '')).join('\n')}\n} &`).join('\n') + '\nwait';
  };
  // Each batch a here-document: bash starts an ip with one a little faster than with a here-string (fewer page
  // faults after its fork), and a loop over the batches as data is slower still (see write_stream_batch).
  const hereDoc = (lines: string[], after = '') => `<<'EOF'${after}\n${lines.join('\n')}\nEOF`;
  const configure = (s: Space, after: string) =>
    `ip -n ${s.name} -batch - ${hereDoc([`addr add ${s.address} dev ${s.iface}`, 'link set lo up', `link set ${s.iface} up`, `route add default via ${s.gateway} dev ${s.iface}`], after)}`;
  // The namespaces in two batches at once (the kernel makes them two at a time faster: 200 in about 70 ms instead of
  // 98), then every link in one.
  const half = Math.ceil(spaces.length / 2);
  const netnsAdd = (share: Space[], after = '') => `ip -batch - ${hereDoc(share.map((s) => `netns add ${s.name}`), after)}`;
  const create = [
    spaces.length < 2 ? netnsAdd(spaces) : `${netnsAdd(spaces.slice(0, half), ' &')}\n${netnsAdd(spaces.slice(half))}\nwait`,
    `ip -batch - ${hereDoc(spaces.map((s) => `link add link ${parent} name ${s.iface} netns ${s.name} type macvlan mode bridge`))}`,
  ].join('\n');
  const read = (s: Space, after: string) => `ip -n ${s.name} -o -d -batch - >/dev/null ${hereDoc(STATE.split('\n'), after)}`;
  const remove = (s: Space, after: string) => `ip -n ${s.name} link del ${s.iface}${after}`;
  const netnsDel = `ip -batch - ${hereDoc(spaces.map((s) => `netns del ${s.name}`))}`;
  const each = (script: (way: Way) => string) => Object.fromEntries(WAYS.map((way) => [way, script(way)])) as Record<Way, string>;
  return {
    apply: each((way) => `${create}\n${perNamespace(configure, way)}`),
    // No `ip netns list`: the script tells which namespaces exist by looking in /var/run/netns, and a floor knows them.
    read: each((way) => perNamespace(read, way)),
    teardown: each((way) => `${perNamespace(remove, way)}\n${netnsDel}`),
    seed: spaces
      .map((s) =>
        [
          `ip netns add ${s.name}`,
          `ip link add link ${parent} name ${s.iface} type macvlan mode bridge`,
          `ip link set ${s.iface} netns ${s.name}`,
          `ip netns exec ${s.name} ip addr add ${s.address} dev ${s.iface}`,
          `ip netns exec ${s.name} ip link set lo up`,
          `ip netns exec ${s.name} ip link set ${s.iface} up`,
          `ip netns exec ${s.name} ip route add default via ${s.gateway} dev ${s.iface}`,
        ].join('\n'),
      )
      .join('\n'),
  };
}

async function timed(lab: EmulatedLab, argv: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const run = await lab.runInNode('node1', argv);
  if (run.status !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} failed: ${run.stderr.slice(0, 500)}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const best = (values: number[]): number => Math.min(...values);

interface SizeResult {
  namespaces: number;
  apply: number;
  reapply: number;
  teardown: number;
  seed: number;
  floorApply: number;
  floorRead: number;
  floorTeardown: number;
  floorWays: string;
}

async function measureSize(count: number): Promise<SizeResult> {
  const config = validateText(fleetConfig({ nodes: 1, namespaces: count }), 'bench.yaml').config;
  const rendered = renderConfig(config, 'bench');
  const node = rendered.plan.nodes[0];
  const spaces = (node?.namespaces ?? []).map((ns) => ({ name: ns.name, iface: ns.interface, address: ns.address, gateway: ns.gateway ?? '' }));
  const f = floors(spaces, node?.parent ?? 'eth0');
  const times: Record<string, number[]> = {};
  const note = (key: string, ms: number): void => {
    (times[key] ??= []).push(ms);
  };
  const inLab = async (work: (lab: EmulatedLab) => Promise<void>) => {
    const lab = await EmulatedLab.build(rendered.plan, rendered.scripts);
    try {
      await work(lab);
    } finally {
      lab.remove();
    }
  };
  // Each contender: apply on a bare node, apply again with nothing to do (a floor: its read of that state), teardown.
  const contenders: Record<'script' | Way, (lab: EmulatedLab) => Promise<void>> = {
    script: async (lab) => {
      const script = lab.scriptPath('node1');
      note('apply', await timed(lab, ['bash', script, 'apply']));
      note('reapply', await timed(lab, ['bash', script, 'apply']));
      note('teardown', await timed(lab, ['bash', script, 'teardown']));
    },
    ...(Object.fromEntries(
      WAYS.map((way) => [
        way,
        async (lab: EmulatedLab) => {
          note(`apply ${way}`, await timed(lab, ['bash', '-c', f.apply[way]]));
          note(`read ${way}`, await timed(lab, ['bash', '-c', f.read[way]]));
          note(`teardown ${way}`, await timed(lab, ['bash', '-c', f.teardown[way]]));
        },
      ]),
    ) as Record<Way, (lab: EmulatedLab) => Promise<void>>),
  };
  // Like with like: on one lab per round, the script takes a turn before each floor way, so it runs as often as all of
  // them together (the floor is the best of every way's runs, the script's figure the best of as many), and each round
  // starts with the next way, so that neither the machine's moods nor the order favour one.
  for (let round = 0; round < ROUNDS; round++) {
    await inLab(async (lab) => {
      for (let turn = 0; turn < WAYS.length; turn++) {
        await contenders.script(lab);
        await contenders[WAYS[(round + turn) % WAYS.length]!](lab);
      }
    });
    // The seed's way, once: it is more than six times slower, and at 200 namespaces one run takes about 18 s.
    if (round === 0) await inLab(async (lab) => note('seed', await timed(lab, ['bash', '-c', f.seed])));
  }
  const floorOf = (what: string) => {
    const [way, value] = WAYS.map((w) => [w, best(times[`${what} ${w}`] ?? [])] as const).reduce((a, b) => (b[1] < a[1] ? b : a));
    return { value, way: `${what} ${way}` };
  };
  const [floorApply, floorRead, floorTeardown] = [floorOf('apply'), floorOf('read'), floorOf('teardown')];
  const result: SizeResult = {
    namespaces: count,
    apply: best(times['apply'] ?? []),
    reapply: best(times['reapply'] ?? []),
    teardown: best(times['teardown'] ?? []),
    seed: best(times['seed'] ?? []),
    floorApply: floorApply.value,
    floorRead: floorRead.value,
    floorTeardown: floorTeardown.value,
    floorWays: [floorApply.way, floorRead.way, floorTeardown.way].join(', '),
  };
  const row = (label: string, ms: number, floor?: number) =>
    console.log(`  ${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms${floor === undefined ? '' : `   floor ${floor.toFixed(0).padStart(6)} ms   ${(ms / floor).toFixed(2)}x`}`);
  console.log(`${count} namespace(s): each floor way best of ${ROUNDS}, the script best of ${ROUNDS * WAYS.length}, the seed's way once (floors: ${result.floorWays}):`);
  for (const [key, ms] of Object.entries(times)) if (key.includes(' ')) console.log(`    ${key.padEnd(32)} ${best(ms).toFixed(0).padStart(6)} ms`);
  row('apply', result.apply, result.floorApply);
  row('apply again, nothing to do', result.reapply, result.floorRead);
  row('teardown', result.teardown, result.floorTeardown);
  row('seed-style apply', result.seed);
  return result;
}

export async function benchApply(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  console.log('apply on one emulated node (macvlan, address, lo and link up, default route per namespace):');
  const sizes: SizeResult[] = [];
  for (const count of SIZES) sizes.push(await measureSize(count));
  const [one, twenty, many] = sizes as [SizeResult, SizeResult, SizeResult];
  // Cost per namespace from the slope between 20 and 200; the fixed cost is what one namespace costs beyond it.
  const split = (key: 'apply' | 'reapply' | 'teardown' | 'floorApply' | 'floorRead' | 'floorTeardown') => {
    const perNamespace = (many[key] - twenty[key]) / (many.namespaces - twenty.namespaces);
    return `${perNamespace.toFixed(2)} ms/namespace + ${(one[key] - perNamespace).toFixed(0)} ms fixed`;
  };
  console.log('cost split (slope 20 -> 200 namespaces):');
  for (const [label, key, floor] of [
    ['apply', 'apply', 'floorApply'],
    ['apply again', 'reapply', 'floorRead'],
    ['teardown', 'teardown', 'floorTeardown'],
  ] as const) {
    console.log(`  ${label.padEnd(12)} ${split(key).padEnd(36)} floor ${split(floor)}`);
  }
  return sizes.flatMap((size) => [
    { name: `apply / floor, ${size.namespaces} ns`, value: size.apply / size.floorApply, reference: size.floorApply, target: '<= 1.2', ok: size.apply / size.floorApply <= 1.2 },
    { name: `re-apply / read floor, ${size.namespaces} ns`, value: size.reapply / size.floorRead, reference: size.floorRead, target: '<= 1.2', ok: size.reapply / size.floorRead <= 1.2 },
    { name: `teardown / floor, ${size.namespaces} ns`, value: size.teardown / size.floorTeardown, reference: size.floorTeardown, target: '<= 1.2', ok: size.teardown / size.floorTeardown <= 1.2 },
    ...(size.namespaces === many.namespaces ? [{ name: `seed-style / apply, ${size.namespaces} ns`, value: size.seed / size.apply, reference: size.apply, target: '>= 6', ok: size.seed / size.apply >= 6 }] : []),
  ]);
}
