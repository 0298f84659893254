import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRenderer } from '../../src/render/render.js';
import { loadTemplates } from '../../src/package-info.js';
import { installPlan, type NodePlan } from '../../src/plan/plan.js';
import { lintScripts } from '../../src/lint/lint.js';
import { runCli, runScript, tempDir } from '../support/cli.js';

const CANARY = path.join(tempDir('canary'), 'pwned');

const HOSTILE = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `x; touch ${CANARY}`,
  `x' ; touch ${CANARY} ; '`,
  `x" ; touch ${CANARY} ; "`,
  `x\ntouch ${CANARY}`,
  'with space',
  '*',
  '-rf',
  'ünïcödé',
  '${HOME}',
];

const BASE = {
  version: 1,
  nodes: { node1: { parent: 'eth0', address: '10.0.0.2/24', gateway: '10.0.0.1', hostShim: { interface: 'mac0' }, namespaces: { ns1: { interface: 'mac1', address: '10.0.0.3/24', gateway: '10.0.0.1' } } } },
};

type Mutation = [field: string, apply: (value: string) => unknown];
const MUTATIONS: Mutation[] = [
  ['node name', (v) => ({ ...BASE, nodes: { [v]: BASE.nodes.node1 } })],
  ['namespace name', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, namespaces: { [v]: BASE.nodes.node1.namespaces.ns1 } } } })],
  ['parent', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, parent: v } } })],
  ['namespace interface', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, namespaces: { ns1: { ...BASE.nodes.node1.namespaces.ns1, interface: v } } } } })],
  ['shim interface', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, hostShim: { interface: v } } } })],
  ['address', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, address: `10.0.0.2/24${v}` } } })],
  ['gateway', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, gateway: v } } })],
  ['mac', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, namespaces: { ns1: { ...BASE.nodes.node1.namespaces.ns1, mac: v } } } } })],
  ['route', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, namespaces: { ns1: { ...BASE.nodes.node1.namespaces.ns1, routes: [{ to: v, via: '10.0.0.1' }] } } } } })],
  ['mode', (v) => ({ ...BASE, defaults: { mode: v } })],
  ['vlan', (v) => ({ ...BASE, nodes: { node1: { ...BASE.nodes.node1, namespaces: { ns1: { ...BASE.nodes.node1.namespaces.ns1, vlan: v } } } } })],
];

describe('hostile config values', () => {
  it('the base config is valid, so each rejection below is due to the hostile value', () => {
    const cwd = tempDir('hostile');
    writeFileSync(path.join(cwd, 'base.json'), JSON.stringify(BASE));
    expect(runCli(['generate', 'base.json'], cwd).status).toBe(0);
  });

  const cases = MUTATIONS.flatMap(([field, mutate]) => HOSTILE.map((value) => [field, value, mutate] as const));
  it.each(cases)('%s = %j is rejected with exit 3 and nothing written', (field, value, mutate) => {
    const cwd = tempDir('hostile');
    writeFileSync(path.join(cwd, 'config.json'), JSON.stringify(mutate(value)));
    const run = runCli(['generate', 'config.json'], cwd);
    expect(run.status, `${field}: ${run.stderr}`).toBe(3);
    expect(run.stderr).toContain('nothing was written');
    expect(readdirSync(cwd)).toEqual(['config.json']);
    expect(existsSync(CANARY)).toBe(false);
  });
});

describe('quoting holds even where validation would not protect', () => {
  // Built by hand, bypassing validation: proves the templates alone keep every value inert.
  const [evil = ''] = HOSTILE;
  const plan: NodePlan = {
    name: `node ${evil}`,
    parent: `eth0 ${evil}`,
    hostAddress: `10.0.0.2/24${evil}`,
    hostIp: '10.0.0.2',
    gateway: evil,
    promisc: true,
    vlans: [{ id: 50, name: evil }],
    ipv6: false,
    linkType: 'macvlan',
    probeMode: 'bridge',
    dns: true,
    moreAddresses: true,
    namespaces: HOSTILE.map((value, i) => ({
      name: value,
      lower: value,
      vlan: 50,
      interface: `${value}${i}`,
      type: 'macvlan',
      mode: 'bridge',
      mtu: 1500,
      mac: value,
      address: value,
      gateway: value,
      routes: [{ to: value, via: value }],
      sourceMacs: [value],
      moreAddresses: [{ address: value }],
      resolvConf: `nameserver ${value}\n`,
    })),
    hostShim: { interface: evil, type: 'macvlan', mode: 'bridge', mac: evil, subnet: evil, gateway: evil, routes: [{ to: evil, via: evil }], probes: [evil] },
    steps: ['promisc', 'vlan', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'dns', 'host-shim'].map((id) => ({ id }) as NodePlan['steps'][number]),
    install: installPlan(`node ${evil}`),
  };
  const script = createRenderer(loadTemplates())(plan, { generator: `macvlan-gen ${evil}`, configSha256: evil });
  const scriptPath = path.join(tempDir('hostile-script'), 'node.sh');
  writeFileSync(scriptPath, script);

  it('running plan executes none of it, and refuses words that ip -batch would split', async () => {
    const run = runScript(scriptPath, ['plan']);
    expect(existsSync(CANARY)).toBe(false);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`refusing to pass 'eth0 ${HOSTILE[0] ?? ''}' to ip -batch: it holds a space, quote, backslash or #`);
    for (const text of [run.stdout, run.stderr]) expect(text).not.toMatch(/^touch /m);
  });

  it('prints a value that ip -batch can take as one literal word', async () => {
    const inert = '$(reboot);`id`';
    const single: NodePlan = { ...plan, namespaces: [{ ...(plan.namespaces[0] as NodePlan['namespaces'][number]), name: inert }], steps: [{ id: 'netns' }] };
    const path2 = path.join(tempDir('hostile-inert'), 'node.sh');
    writeFileSync(path2, createRenderer(loadTemplates())(single, { generator: 'macvlan-gen', configSha256: 'x' }));
    const run = runScript(path2, ['plan']);
    const quoted = execFileSync('bash', ['-c', 'printf %q "$1"', 'quote', inert], { encoding: 'utf8' });
    expect(run.stdout).toContain(`  ip netns add ${quoted}\n`);
    expect(existsSync(CANARY)).toBe(false);
  });

  it('--help and --version execute none of it', () => {
    runScript(scriptPath, ['--help']);
    runScript(scriptPath, ['--version']);
    expect(existsSync(CANARY)).toBe(false);
  });

  it('install writes a unit in which no value starts a line, a word or a specifier of its own', () => {
    const root = tempDir('hostile-root');
    mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    const run = runScript(scriptPath, ['install', '--root', root]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(CANARY)).toBe(false);
    const units = readdirSync(path.join(root, 'etc/systemd/system'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(units).toHaveLength(1);
    const [unit] = units;
    const lines = readFileSync(path.join(unit?.parentPath ?? '', unit?.name ?? ''), 'utf8').trimEnd().split('\n');
    const settings = lines.filter((line) => line !== '' && !line.startsWith('#') && !/^\[\w+\]$/.test(line));
    expect(settings.map((line) => line.split('=')[0])).toEqual(
      [
        'Description', 'BindsTo', 'After', 'Wants', 'Before', 'Type', 'RemainAfterExit', 'ExecStart', 'ExecStop', 'TimeoutStartSec',
        'NoNewPrivileges', 'CapabilityBoundingSet', 'RestrictAddressFamilies', 'UMask', 'LockPersonality', 'MemoryDenyWriteExecute',
        'RestrictRealtime', 'RestrictSUIDSGID', 'SystemCallArchitectures', 'WantedBy',
      ],
    );
    for (const line of settings.filter((setting) => /^(ExecStart|ExecStop|BindsTo|WantedBy)=/.test(setting))) {
      expect(line).not.toMatch(/[%$;'"`]/);
    }
    expect(settings.find((line) => line.startsWith('ExecStart='))).toMatch(/^ExecStart=\S+ apply --boot$/);
    expect(settings.find((line) => line.startsWith('BindsTo='))).toMatch(/^BindsTo=\S+\.device$/);
  });

  it('passes shellcheck but for SC2016, its note that "$(...)" inside single quotes stays literal', async () => {
    const findings = await lintScripts([scriptPath]);
    expect(findings.filter((finding) => finding.code !== 'SC2016')).toEqual([]);
    expect(findings.length).toBeGreaterThan(0);
  });
});
