// Wall time of the lab: the seed example (staged, as `macvlan-gen lab` runs it by default) and a 10-node x
// 10-namespace fleet. Run as root: npm run bench:lab
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleetConfig } from './fleet.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli.js');

function timeLab(label: string, configPath: string, args: string[]): void {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [cli, 'lab', configPath, '--json', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`${label}: lab exited ${String(run.status)}\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as { stages: { results: unknown[]; results6?: unknown[]; endpoints: unknown[]; seconds: Record<string, number> }[] };
  const pairs = report.stages.reduce((sum, stage) => sum + stage.results.length + (stage.results6?.length ?? 0), 0);
  const phases = report.stages.map((s) => `build ${s.seconds['build']?.toFixed(2)}s apply ${s.seconds['apply']?.toFixed(2)}s probe ${s.seconds['probe']?.toFixed(2)}s`).join(' | ');
  console.log(`${label.padEnd(34)} ${wall.toFixed(2).padStart(7)} s wall  ${String(report.stages.length)} stage(s), ${String(report.stages[0]?.endpoints.length)} endpoints, ${String(pairs)} pairs probed  (${phases})`);
}

if (process.getuid?.() !== 0) {
  console.error('the lab benchmark needs root (network namespaces)');
  process.exit(4);
}
const dir = mkdtempSync(path.join(tmpdir(), 'mvg-bench-'));
try {
  const fleet = path.join(dir, 'fleet-10x10.yaml');
  writeFileSync(fleet, fleetConfig({ nodes: 10, namespaces: 10, shim: true }));
  timeLab('seed example (staged)', path.join(root, 'examples', 'seed.yaml'), []);
  timeLab('seed example --no-stage', path.join(root, 'examples', 'seed.yaml'), ['--no-stage']);
  timeLab('10 nodes x 10 namespaces --no-stage', fleet, ['--no-stage']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
