// The lab in real network namespaces, under every node profile. Needs root; in CI (root, CI=true) it must run, never skip.
// All lab runs live in this one file so that no other test creates namespaces while the host is compared.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
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

interface LabRun {
  status: number | null;
  report: LabResult;
  stderr: string;
}

/** Runs `macvlan-gen lab ... --json` without blocking, so that several labs can run at once. */
function lab(args: string[]): Promise<LabRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'lab', ...args, '--json'], { cwd: tempDir('lab'), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      const text = Buffer.concat(stdout).toString('utf8');
      try {
        resolve({ status, report: JSON.parse(text) as LabResult, stderr: Buffer.concat(stderr).toString('utf8') });
      } catch {
        reject(new Error(`lab ${args.join(' ')} exited ${String(status)} without a JSON report:\n${text}${Buffer.concat(stderr).toString('utf8')}`));
      }
    });
  });
}

/** What the LAN neighbour watches in each seed stage: what it reaches before and after (no namespace before stage 1). */
const SEED_WATCHED = [
  ['node1', 'node2', 'gateway'],
  ['node1', 'node1/ns1', 'node1/ns2', 'node2', 'node2/ns1', 'gateway'],
  ['node1', 'node1/ns1', 'node1/ns2', 'node2', 'node2/ns1', 'gateway'],
];

/** Every watched endpoint of every stage has its figure, and none went silent for over 2 s. */
function expectNoOutage(report: LabResult): void {
  expect(report.stages.map((stage) => stage.outages.map((outage) => outage.endpoint))).toEqual(SEED_WATCHED);
  for (const stage of report.stages) {
    for (const outage of stage.outages) {
      expect(outage.answers, `${outage.endpoint} in ${stage.name}`).toBeGreaterThan(0);
      expect(outage.longestSeconds, `${outage.endpoint} in ${stage.name}`).toBeLessThanOrEqual(2);
    }
  }
}

const sysctl = (prefix: string, node: string, file: string): string =>
  execFileSync('nsenter', [`--net=/run/netns/${prefix}-node-${node}`, 'cat', `/proc/sys/net/ipv4/conf/${file}`], { encoding: 'utf8' }).trim();

function pair(stage: StageResult | undefined, a: string, b: string, family: 4 | 6 = 4): ProbeResult {
  const results = family === 4 ? stage?.results : stage?.results6;
  const found = results?.find((r) => (r.from === a && r.to === b) || (r.from === b && r.to === a));
  if (!found) throw new Error(`no IPv${family} probe between ${a} and ${b} in stage ${stage?.name ?? '?'}`);
  return found;
}

describe.skipIf(!isRoot)('lab (root: network namespaces)', () => {
  const SEED = path.join(EXAMPLES, 'seed.yaml');
  let before: string;
  let seed: LabRun;
  let pictures: string;
  const profiled = new Map<string, LabRun>();

  // The staged seed under each distribution's defaults, at once: each run spends most of its time waiting.
  beforeAll(async () => {
    before = hostState();
    pictures = tempDir('lab-pictures');
    const [debian, ...others] = await Promise.all([lab([SEED, '--pictures', pictures]), lab([SEED, '--profile', 'ubuntu']), lab([SEED, '--profile', 'rhel'])]);
    if (!debian) throw new Error('no seed run');
    seed = debian;
    others.forEach((run, i) => profiled.set(['ubuntu', 'rhel'][i] ?? '', run));
  }, 180_000);

  describe('the seed example (staged by default) reproduces every result of the seed experiment', () => {
    it('runs three stages with every pair as the rules predict, and exits 0', () => {
      expect(seed.status).toBe(0);
      expect(seed.report.ok).toBe(true);
      expect(seed.report.stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
      for (const stage of seed.report.stages) expect(stage.results.filter((r) => !r.asExpected)).toEqual([]);
    });

    it('draws the topology and each stage\'s measured reachability with --pictures, on the topology and as a grid, each pair as the ping came out', () => {
      const stages = ['default-routes', 'host-migrated', 'no-default-routes'];
      expect(readdirSync(pictures).sort()).toEqual([...stages.flatMap((stage) => [`${stage}-grid.svg`, `${stage}.svg`]), 'topology.svg'].sort());
      expect(seed.stderr).toContain(`wrote 7 pictures to ${pictures}/`);
      for (const stage of seed.report.stages) {
        for (const [file, perPair] of [[`${stage.name}.svg`, 1], [`${stage.name}-grid.svg`, 2]] as const) {
          const svg = readFileSync(path.join(pictures, file), 'utf8');
          const drawn = [...svg.matchAll(/<title>(\S+) ↔ (\S+): (reach|blocked),/g)];
          expect(drawn, file).toHaveLength(perPair * stage.results.length);
          for (const [, a, b, verdict] of drawn) expect(verdict, `${file}: ${a} ${b}`).toBe(pair(stage, a ?? '', b ?? '').actual ? 'reach' : 'blocked');
        }
      }
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
      for (const run of seed.report.stages[2]?.scripts ?? []) expect(run.output).toMatch(/^(Done: |Nothing to do: )/m);
    });

    it('rolls the stages out on one lab: each stage applies on top of the last, as an operator would, and converges', () => {
      const [first, routes, migrated] = seed.report.stages.map((stage) => new Map(stage.scripts.map((run) => [run.node, run.output])));
      expect(first?.get('node1')).toContain('+ ip netns add ns1');
      expect(routes?.get('node1')).toContain('+ ip -n ns1 route add default via 192.168.1.1 dev mac1');
      expect(routes?.get('node1')).not.toContain('+ ip netns add');
      expect(migrated?.get('node1')).not.toContain('+ ip -n ns1 route add');
      // node2's script is the same in every stage: after the first, there is nothing left to do.
      for (const stage of [routes, migrated]) expect(stage?.get('node2')).toContain('Nothing to do: ');
    });

    it('a LAN neighbour watches every endpoint it can reach through every stage, on the one lab, and none is lost', () => {
      expect(seed.report.profiles).toEqual({ node1: 'debian', node2: 'debian' });
      expect(seed.report.watcher).toEqual(['192.168.255.254/16']);
      expect(seed.report.notRun).toEqual([]);
      expect(seed.report.stages[0]?.endpoints.map((endpoint) => endpoint.ip)).not.toContain('192.168.255.254');
      expectNoOutage(seed.report);
    });

    it('leaves the host exactly as before', () => {
      expect(hostState()).toBe(before);
    });
  });

  describe('the staged seed under each distribution profile', () => {
    for (const profile of ['ubuntu', 'rhel']) {
      it(`${profile}: every pair as the rules predict, and no endpoint silent for over 2 s through any stage`, () => {
        const run = profiled.get(profile);
        if (!run) throw new Error(`no ${profile} run`);
        expect(run.report.profiles).toEqual({ node1: profile, node2: profile });
        expect(run.report.stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
        for (const stage of run.report.stages) {
          expect(stage.scripts.map((script) => [script.node, script.status])).toEqual([['node1', 0], ['node2', 0]]);
          expect(stage.results.filter((r) => !r.asExpected)).toEqual([]);
        }
        expectNoOutage(run.report);
        expect(run.status).toBe(0);
        expect(run.report.ok).toBe(true);
      });
    }

    it('dhcp: the host address is a real lease, and node1.sh refuses to move it (exit 3, naming DHCP); the lab exits 1', async () => {
      const run = await lab([SEED, '--profile', 'dhcp', '--keep']);
      const prefix = run.report.kept ?? '';
      try {
        expect(run.report.profiles).toEqual({ node1: 'dhcp', node2: 'dhcp' });
        const leased = execFileSync('ip', ['-n', `${prefix}-node-node1`, '-o', '-4', 'addr', 'show', 'dev', 'ens160'], { encoding: 'utf8' });
        expect(leased).toMatch(/inet 192\.168\.179\.9\/16 .* dynamic .* valid_lft \d+sec/);
        // The DHCP server and client live in lab namespaces, their files under the lab's own dir.
        for (const [file, ns] of [['dnsmasq.pid', 'gw'], ['node1.dhclient.pid', 'node-node1']]) {
          const pid = readFileSync(`/run/${prefix}/dhcp/${file}`, 'utf8').trim();
          expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(`net:[${statSync(`/run/netns/${prefix}-${ns}`).ino}]`);
        }
        expect(run.status).toBe(1);
        expect(run.report.ok).toBe(false);
        const node1 = run.report.stages.at(-1)?.scripts.find((script) => script.node === 'node1');
        expect(node1?.status).toBe(3);
        expect(node1?.output).toContain('DHCP');
      } finally {
        runCli(['lab', 'down', prefix], tempDir('lab'));
      }
      expect(hostState()).toBe(before);
    });
  });

  describe('the dual-stack seed (examples/seed-dual-stack.yaml) reproduces the seed experiment in both families', () => {
    let dual: LabRun;
    beforeAll(async () => {
      dual = await lab([path.join(EXAMPLES, 'seed-dual-stack.yaml')]);
    }, 180_000);

    it('runs three stages, probes every pair in each family, every pair as the rules predict, and exits 0', () => {
      expect(dual.report.stages.map((stage) => stage.name)).toEqual(['no-default-routes', 'default-routes', 'host-migrated']);
      for (const stage of dual.report.stages) {
        expect(stage.scripts.map((script) => [script.node, script.status])).toEqual([['node1', 0], ['node2', 0]]);
        expect(stage.endpoints.every((endpoint) => endpoint.ip6 !== undefined)).toBe(true);
        const pairs = (stage.endpoints.length * (stage.endpoints.length - 1)) / 2;
        expect([stage.results.length, stage.results6?.length]).toEqual([pairs, pairs]);
        expect([...stage.results, ...(stage.results6 ?? [])].filter((r) => !r.asExpected)).toEqual([]);
      }
      expect(dual.report.ok).toBe(true);
      expect(dual.status).toBe(0);
    });

    it('IPv6 gives the seed results that IPv4 gives, stage by stage', () => {
      const [noRoute, withRoute, migrated] = dual.report.stages;
      for (const family of [4, 6] as const) {
        for (const stage of dual.report.stages) {
          expect(pair(stage, 'node1/ns1', 'node1/ns2', family).actual).toBe(true);
          expect(pair(stage, 'node1/ns1', 'node2', family).actual).toBe(true);
          expect(pair(stage, 'node1/ns1', 'node2/ns1', family).actual).toBe(true);
        }
        expect([noRoute, withRoute].map((stage) => pair(stage, 'client', 'node1/ns1', family).actual)).toEqual([false, true]);
        expect([noRoute, withRoute, migrated].map((stage) => pair(stage, 'node1/ns1', 'node1', family).actual)).toEqual([false, false, true]);
        for (const other of ['gateway', 'node2', 'client']) expect(pair(migrated, 'node1', other, family).actual).toBe(true);
      }
    });

    it('ran the committed scripts, and a LAN neighbour watching both families lost no endpoint in any stage', () => {
      const manifest = JSON.parse(readFileSync(path.join(EXAMPLES, 'out', 'seed-dual-stack', 'manifest.json'), 'utf8')) as { nodes: { name: string; sha256: string }[] };
      expect(dual.report.stages[2]?.scripts.map((run) => ({ name: run.node, sha256: run.sha256 }))).toEqual(manifest.nodes.map(({ name, sha256 }) => ({ name, sha256 })));
      expect(dual.report.watcher).toEqual(['192.168.255.254/16', '2001:db8:179:0:ffff:ffff:ffff:ff7f/64']);
      const watched = (stage: StageResult, family: 4 | 6) => stage.outages.filter((outage) => outage.ip.includes(':') === (family === 6)).map((outage) => outage.endpoint);
      for (const family of [4, 6] as const) expect(dual.report.stages.map((stage) => watched(stage, family))).toEqual(SEED_WATCHED);
      for (const stage of dual.report.stages) {
        for (const outage of stage.outages) expect(outage.longestSeconds, `${outage.endpoint} at ${outage.ip} in ${stage.name}`).toBeLessThanOrEqual(2);
      }
      expect(hostState()).toBe(before);
    });

    it('a link-local IPv6 gateway (fe80::1) routes the namespace to the outside client', async () => {
      const config = path.join(tempDir('lab'), 'link-local.yaml');
      writeFileSync(config, readFileSync(path.join(EXAMPLES, 'seed-dual-stack.yaml'), 'utf8').replaceAll('2001:db8:179::1]', 'fe80::1]'));
      const { status, report } = await lab([config, '--no-stage']);
      const [stage] = report.stages;
      expect([...(stage?.results ?? []), ...(stage?.results6 ?? [])].filter((r) => !r.asExpected)).toEqual([]);
      expect(pair(stage, 'client', 'node1/ns1', 6)).toMatchObject({ actual: true, reason: 'routed through the gateway fe80::1' });
      expect(pair(stage, 'node1', 'client', 6).actual).toBe(true);
      expect(status).toBe(0);
      expect(hostState()).toBe(before);
    });
  });

  it('three nodes: private and vepa namespaces and a source-mode namespace behave as the kernel says', async () => {
    const { status, report } = await lab([path.join(EXAMPLES, 'three-nodes.yaml'), '--no-stage']);
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

  it('--keep leaves the lab up for poking, each node set as its profile, and `lab down` removes it', () => {
    const cwd = tempDir('lab');
    const kept = runCli(['lab', SEED, '--no-stage', '--keep', '--profile', 'rhel', '--profile', 'node2=ubuntu'], cwd);
    expect(kept.status).toBe(0);
    expect(kept.stdout).toContain('Nodes emulated as: node1 rhel, node2 ubuntu\n');
    const prefix = /lab (mvlab-[a-z0-9]+) is still up/.exec(kept.stderr)?.[1] ?? '';
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(`${prefix}-node-node1`);
    const inside = execFileSync('nsenter', [`--mount=/run/${prefix}/node1.mnt`, `--net=/run/netns/${prefix}-node-node1`, 'ip', 'netns', 'list'], { encoding: 'utf8' });
    expect(inside.split('\n').map((line) => line.split(' ')[0]).filter(Boolean).sort()).toEqual(['ns1', 'ns2']);
    for (const where of ['all', 'default', 'ens160']) {
      expect([sysctl(prefix, 'node1', `${where}/rp_filter`), sysctl(prefix, 'node1', `${where}/promote_secondaries`)]).toEqual(['1', '1']);
      expect([sysctl(prefix, 'node2', `${where}/rp_filter`), sysctl(prefix, 'node2', `${where}/promote_secondaries`)]).toEqual(['2', '0']);
    }
    // The shim, made by the script after the lab set the defaults, inherits them as on a real RHEL node.
    expect(sysctl(prefix, 'node1', 'mac0/rp_filter')).toBe('1');
    // It says how to run each node's script inside the lab, with the node's run dir (not the host's /run/macvlan-gen).
    const commands = kept.stderr.split('\n').filter((line) => line.startsWith('  nsenter '));
    expect(commands.map((line) => /(node\d)\.sh plan$/.exec(line)?.[1])).toEqual(['node1', 'node2']);
    expect(commands[0]).toContain(` env MACVLAN_GEN_RUN_DIR=/run/${prefix}/run/node1 bash `);
    const plan = spawnSync('bash', ['-c', commands[0] ?? 'false'], { encoding: 'utf8' });
    expect([plan.status, plan.stderr]).toEqual([0, '']);
    expect(plan.stdout).toContain('Nothing to do: the node already matches the config.\n');
    expect(runCli(['lab', 'down', prefix], cwd)).toMatchObject({ status: 0, stdout: `removed lab ${prefix}\n` });
    expect(hostState()).toBe(before);
  });

  it('an unknown profile or node is a usage error (exit 2) naming what is allowed, before any lab is built', () => {
    const cwd = tempDir('lab');
    expect(runCli(['lab', SEED, '--profile', 'centos'], cwd)).toMatchObject({
      status: 2,
      stdout: '',
      stderr: 'macvlan-gen: --profile "centos": no profile "centos"; the profiles are debian, rhel, ubuntu, dhcp\nRun `macvlan-gen --help` for usage.\n',
    });
    expect(runCli(['lab', SEED, '--profile', 'node9=rhel'], cwd)).toMatchObject({
      status: 2,
      stderr: 'macvlan-gen: --profile "node9=rhel": no node "node9" in the config; its nodes are node1, node2\nRun `macvlan-gen --help` for usage.\n',
    });
    expect(hostState()).toBe(before);
  });
});

// Outside the suite above, so that it runs alone without building its labs.
describe('lab without root', () => {
  // As root, in a user namespace of its own with no uid mapped: the CLI is uid 65534 there, while the files keep root's
  // access, so this works from a clone that no other user can read (root's home, mktemp -d).
  it('refuses without root, with exit 4', () => {
    const command = [process.execPath, CLI, 'lab', path.join(EXAMPLES, 'seed.yaml')];
    const [file = '', ...args] = isRoot ? ['unshare', '--user', '--', ...command] : command;
    const run = spawnSync(file, args, { cwd: tempDir('lab'), encoding: 'utf8' });
    expect(run).toMatchObject({ status: 4, stdout: '', stderr: 'macvlan-gen: lab needs root to create network namespaces; run it with sudo\n' });
  });
});
