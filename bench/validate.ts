// Validation of a 200,000-namespace config in which every namespace is wrong: every finding located and counted, the
// printed list capped. Wall time and peak memory of `macvlan-gen validate` in a fresh process, beside the same config
// without errors (its time is mostly the YAML parser's, which no fix of ours can go below).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { measureCli, type Measured } from './generate.js';

const NAMESPACES = 200_000;

type Kind = 'valid' | 'shape' | 'semantics';

/**
 * One node holding every namespace (the longest map a position lookup can meet). `shape`: each namespace misspells
 * "interface" and has a /33 address (the schema's findings). `semantics`: each namespace reuses one address and has an
 * off-link gateway (the cross-field rules' findings, which run only once the shape is right).
 */
export function namespacesConfig(kind: Kind, namespaces: number): string {
  const lines = ['version: 1', 'nodes:', '  node1:', '    parent: eth0', '    address: 10.0.0.1/8', '    namespaces:'];
  for (let i = 1; i <= namespaces; i++) {
    const address = `10.${((i + 1) >> 16) & 255}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`;
    lines.push(`      ns${i}:`);
    if (kind === 'valid') lines.push(`        interface: mv${i}`, `        address: ${address}/8`);
    if (kind === 'shape') lines.push(`        interfac: mv${i}`, `        address: ${address}/33`);
    if (kind === 'semantics') lines.push(`        interface: mv${i}`, '        address: 10.0.0.2/8', '        gateway: 192.168.0.1');
  }
  return `${lines.join('\n')}\n`;
}

export async function benchValidate(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  console.log(`validate of one node with ${NAMESPACES} namespaces, fresh process each:`);
  const dir = mkdtempSync(path.join(tmpdir(), 'mvg-bench-validate-'));
  const runs = new Map<Kind, Measured>();
  try {
    for (const kind of ['valid', 'shape', 'semantics'] as const) {
      const config = path.join(dir, `${kind}.yaml`);
      writeFileSync(config, namespacesConfig(kind, NAMESPACES));
      const run = measureCli(['validate', config]);
      const expected = kind === 'valid' ? 0 : 3;
      if (run.status !== expected) throw new Error(`validate ${kind} exited ${String(run.status)}, expected ${expected}: ${run.stderr.slice(0, 500)}`);
      runs.set(kind, run);
      const printed = run.stderr.split('\n').filter((line) => line !== '');
      const last = (kind === 'valid' ? run.stdout.trim() : printed.at(-1) ?? '').replace(`${config}: `, '');
      console.log(`  ${kind.padEnd(10)} ${run.seconds.toFixed(3).padStart(7)} s  peak ${run.peakMb.toFixed(0)} MB  ${printed.length} lines on stderr; ${last}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const valid = runs.get('valid')?.seconds ?? NaN;
  return (['shape', 'semantics'] as const).flatMap((kind) => {
    const run = runs.get(kind);
    const seconds = run?.seconds ?? NaN;
    const peakMb = run?.peakMb ?? NaN;
    const printed = (run?.stderr ?? '').split('\n').filter((line) => line !== '').length;
    return [
      { name: `${kind} errors / valid, time`, value: seconds / valid, reference: valid, target: '<= 2', ok: seconds / valid <= 2 },
      { name: `${kind} errors, peak MB`, value: peakMb, reference: 2048, target: '< 2048', ok: peakMb < 2048 },
      { name: `${kind} errors, stderr lines`, value: printed, reference: 102, target: '<= 102', ok: printed <= 102 },
    ];
  });
}
