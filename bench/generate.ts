// Generation of large fleets (validate + render + write): wall time and peak memory of the CLI, in a fresh process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetConfig, type FleetShape } from './fleet.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const REPORT_PEAK_MEMORY = 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss "+process.resourceUsage().maxRSS+"\\n"))';

export interface Generated {
  seconds: number;
  peakMb: number;
}

export interface Measured extends Generated {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a fresh process: wall time, peak resident memory and what it printed. */
export function measureCli(args: string[], env: NodeJS.ProcessEnv = process.env): Measured {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', REPORT_PEAK_MEMORY, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const peakKb = Number(/maxrss (\d+)/.exec(run.stderr)?.[1] ?? NaN);
  return { seconds, peakMb: peakKb / 1024, status: run.status, stdout: run.stdout, stderr: run.stderr.replace(/^maxrss \d+\n/m, '') };
}

export function generateFleet(shape: FleetShape, outDir: string): Generated {
  const dir = mkdtempSync(path.join(tmpdir(), 'mvg-bench-gen-'));
  try {
    const config = path.join(dir, 'fleet.yaml');
    writeFileSync(config, fleetConfig(shape));
    const run = measureCli(['generate', config, '--out-dir', outDir]);
    if (run.status !== 0) throw new Error(`generate failed: ${run.stderr.slice(0, 500)}`);
    return { seconds: run.seconds, peakMb: run.peakMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchGenerate(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  console.log('generate (validate + render + write), fresh process each, best of 3 where a target applies:');
  const results = new Map<string, Generated>();
  for (const [shape, runs] of [
    [{ nodes: 1000, namespaces: 20 }, 3],
    [{ nodes: 2000, namespaces: 20 }, 3],
    [{ nodes: 10000, namespaces: 2 }, 1],
  ] as const) {
    let best: Generated | undefined;
    for (let run = 0; run < runs; run++) {
      const out = mkdtempSync(path.join(tmpdir(), 'mvg-bench-out-'));
      try {
        const result = generateFleet(shape, out);
        if (!best || result.seconds < best.seconds) best = result;
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    if (!best) continue;
    const label = `${shape.nodes} nodes x ${shape.namespaces} namespaces`;
    results.set(label, best);
    console.log(`  ${label.padEnd(44)} ${best.seconds.toFixed(3).padStart(7)} s  peak ${best.peakMb.toFixed(0)} MB`);
  }
  const base = results.get('1000 nodes x 20 namespaces') ?? { seconds: NaN, peakMb: NaN };
  const doubled = results.get('2000 nodes x 20 namespaces') ?? { seconds: NaN, peakMb: NaN };
  return [
    { name: '1000x20 wall seconds', value: base.seconds, reference: 3, target: '< 3 s', ok: base.seconds < 3 },
    { name: '1000x20 peak MB', value: base.peakMb, reference: 300, target: '< 300 MB', ok: base.peakMb < 300 },
    { name: '2000x20 / 1000x20 time', value: doubled.seconds / base.seconds, reference: base.seconds, target: '<= 2.1', ok: doubled.seconds / base.seconds <= 2.1 },
  ];
}
