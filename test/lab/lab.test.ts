// The lab in real network namespaces. Needs root; in CI (root, CI=true) it must run, never skip.
// All lab runs live in this one file so that no other test creates namespaces while the host is compared.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, EXAMPLES, runCli, tempDir } from '../support/cli.js';
import type { LabResult, ProbeResult, StageResult } from '../../src/lab/runner.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

/** Everything of the real host that a lab must leave as it found it. */
function hostState(): string {
  const run = (args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  const mounts = execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('mvlab'));
  const runEntries = readdirSync('/run').filter((name) => name.startsWith('mvlab'));
  return [run(['netns', 'list']), run(['-d', 'link', 'show']), run(['addr', 'show']), run(['route', 'show', 'table', 'all']), run(['-6', 'route', 'show', 'table', 'all']), ...mounts, ...runEntries].join('\n---\n');
}

function lab(args: string[]): { status: number | null; report: LabResult; stderr: string } {
  const run = runCli(['lab', ...args, '--json'], tempDir('lab'));
  return { status: run.status, report: JSON.parse(run.stdout) as LabResult, stderr: run.stderr };
}

function pair(stage: StageResult | undefined, a: string, b: string): ProbeResult {
  const found = stage?.results.find((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
  if (!found) throw new Error(`no probe between ${a} and ${b} in stage ${stage?.name ?? '?'}`);
  return found;
}

describe.skipIf(!isRoot)('lab (root: network namespaces)', () => {
  const SEED = path.join(EXAMPLES, 'seed.yaml');
  let before: string;
  let seed: { status: number | null; report: LabResult; stderr: string };

  beforeAll(() => {
    before = hostState();
    seed = lab([SEED]);
  });

  describe('the seed example (staged by default) reproduces every result of the seed experiment', () => {
    it('runs three stages with every pair as the rules predict, and exits 0', () => {
      expect(seed.status).toBe(0);
      expect(seed.report.ok).toBe(true);
      expect(seed.report.stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
      for (const stage of seed.report.stages) expect(stage.results.filter((r) => !r.asExpected)).toEqual([]);
    });

    it('ns1 and ns2 on node1 reach each other', () => {
      for (const stage of seed.report.stages) expect(pair(stage, 'node1/ns1', 'node1/ns2').actual).toBe(true);
    });

    it('ns1 on node1 reaches node2', () => {
      for (const stage of seed.report.stages) expect(pair(stage, 'node1/ns1', 'node2').actual).toBe(true);
    });

    it('ns1 on node1 reaches ns1 on node2', () => {
      for (const stage of seed.report.stages) expect(pair(stage, 'node1/ns1', 'node2/ns1').actual).toBe(true);
    });

    it('the client in another subnet reaches ns1 only after its default route', () => {
      const [noRoute, withRoute] = seed.report.stages;
      expect(pair(noRoute, 'client', 'node1/ns1').actual).toBe(false);
      expect(pair(withRoute, 'client', 'node1/ns1').actual).toBe(true);
    });

    it('ns1 cannot reach its own host until the host address moves onto the shim', () => {
      const [noRoute, withRoute, migrated] = seed.report.stages;
      expect(pair(noRoute, 'node1/ns1', 'node1').actual).toBe(false);
      expect(pair(withRoute, 'node1/ns1', 'node1').actual).toBe(false);
      expect(pair(migrated, 'node1/ns1', 'node1').actual).toBe(true);
    });

    it('after the migration the host still reaches its gateway, node2 and the outside client', () => {
      const migrated = seed.report.stages[2];
      for (const other of ['gateway', 'node2', 'client']) expect(pair(migrated, 'node1', other).actual).toBe(true);
    });

    it('ran the generated scripts unmodified: in the last stage, byte for byte the committed ones', () => {
      const manifest = JSON.parse(readFileSync(path.join(EXAMPLES, 'out', 'seed', 'manifest.json'), 'utf8')) as { nodes: { name: string; sha256: string }[] };
      const applied = seed.report.stages[2]?.scripts.map((run) => ({ name: run.node, sha256: run.sha256 }));
      expect(applied).toEqual(manifest.nodes.map(({ name, sha256 }) => ({ name, sha256 })));
      for (const run of seed.report.stages[2]?.scripts ?? []) expect(run.output).toContain('Done: ');
    });

    it('leaves the host exactly as before', () => {
      expect(hostState()).toBe(before);
    });
  });

  it('three nodes: private and vepa namespaces and a source-mode namespace behave as the kernel says', () => {
    const { status, report } = lab([path.join(EXAMPLES, 'three-nodes.yaml'), '--no-stage']);
    expect(status).toBe(0);
    const [stage] = report.stages;
    expect(stage?.results.filter((r) => !r.asExpected)).toEqual([]);
    expect(pair(stage, 'node-b/isolated', 'node-b/hairpin').actual).toBe(false);
    expect(pair(stage, 'node-b/isolated', 'node-b').actual).toBe(false);
    expect(pair(stage, 'node-b/hairpin', 'node-b').actual).toBe(false);
    expect(pair(stage, 'node-b/isolated', 'node-a/web').actual).toBe(true);
    expect(pair(stage, 'node-b/hairpin', 'node-c').actual).toBe(true);
    expect(pair(stage, 'node-c/filtered', 'node-a/web').actual).toBe(true);
    expect(pair(stage, 'node-c/filtered', 'node-c').actual).toBe(false);
    expect(pair(stage, 'node-a', 'node-a/web').actual).toBe(true);
    expect(hostState()).toBe(before);
  });

  it('a wrong expectation makes the lab exit 1 and names the pair', () => {
    const run = runCli(['lab', SEED, '--no-stage', '--expect', 'node1/ns1<->node1/ns2=none'], tempDir('lab'));
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('UNEXPECTED node1/ns1 <-> node1/ns2: reach, expected no reach (overridden on the command line (--expect))');
    expect(run.stdout).toContain('lab: FAILED');
    expect(hostState()).toBe(before);
  });

  it('two labs run at once without touching each other', async () => {
    const runAsync = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'lab', SEED, '--no-stage'], { cwd: tempDir('lab'), stdio: 'ignore' });
        child.on('close', resolve);
      });
    expect(await Promise.all([runAsync(), runAsync()])).toEqual([0, 0]);
    expect(hostState()).toBe(before);
  });

  it('cleans up when interrupted midway', async () => {
    const child = spawn(process.execPath, [CLI, 'lab', SEED], { cwd: tempDir('lab'), stdio: ['ignore', 'ignore', 'pipe'] });
    const status = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('probing')) child.kill('SIGINT');
      });
      child.on('close', (code) => resolve(code));
    });
    expect(status).toBe(130);
    expect(hostState()).toBe(before);
  });

  it('--keep leaves the lab up for poking, and `lab down` removes it', () => {
    const cwd = tempDir('lab');
    const kept = runCli(['lab', SEED, '--no-stage', '--keep'], cwd);
    expect(kept.status).toBe(0);
    const prefix = /lab (mvlab-[a-z0-9]+) is still up/.exec(kept.stderr)?.[1] ?? '';
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(`${prefix}-node-node1`);
    const inside = execFileSync('nsenter', [`--mount=/run/${prefix}/node1.mnt`, `--net=/run/netns/${prefix}-node-node1`, 'ip', 'netns', 'list'], { encoding: 'utf8' });
    expect(inside.split('\n').map((line) => line.split(' ')[0]).filter(Boolean).sort()).toEqual(['ns1', 'ns2']);
    expect(runCli(['lab', 'down', prefix], cwd)).toMatchObject({ status: 0, stdout: `removed lab ${prefix}\n` });
    expect(hostState()).toBe(before);
  });

  it('refuses without root, with exit 4', () => {
    const run = execFileSync('bash', ['-c', 'setpriv --reuid=65534 --regid=65534 --clear-groups "$@" 2>&1; echo "exit=$?"', 'as-nobody', process.execPath, CLI, 'lab', SEED], {
      cwd: '/',
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(run).toBe('macvlan-gen: lab needs root to create network namespaces; run it with sudo\nexit=4\n');
  });
});
