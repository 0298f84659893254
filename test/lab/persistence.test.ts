// The boot-time setup on emulated nodes: install and uninstall into each node's own file system tree (--root), the
// unit's ExecStart and ExecStop doing what apply and teardown do, the unattended migration at boot, and verify's
// report on the installation. Root only; never skipped in CI.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { renderConfig } from '../../src/pipeline.js';
import { buildLab, configOf, FAST_PROBES, nodeState, normalizeState, pingFrom, SEED_TEXT, withNode1Shim } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

const SEED = configOf(SEED_TEXT);
const UNIT = 'macvlan-gen-node1.service';
const INSTALLED = '/usr/local/sbin/macvlan-gen-node1';

/** The files under a tree, with their modes and link targets. */
function treeOf(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      const shown = path.relative(root, file);
      return entry.isSymbolicLink() ? `${shown} -> ${execFileSync('readlink', [file], { encoding: 'utf8' }).trim()}` : `${shown} ${(statSync(file).mode & 0o777).toString(8)}`;
    })
    .sort();
}

/** A command line of the installed unit (ExecStart or ExecStop), with its program found in the node's tree. */
function unitCommand(root: string, key: 'ExecStart' | 'ExecStop'): string[] {
  const unit = readFileSync(path.join(root, 'etc/systemd/system', UNIT), 'utf8');
  const line = unit.split('\n').find((text) => text.startsWith(`${key}=`));
  if (line === undefined) throw new Error(`the unit has no ${key}`);
  const [program = '', ...args] = line.slice(key.length + 1).split(' ');
  return [path.join(root, program), ...args];
}

async function runUnitCommand(lab: EmulatedLab, key: 'ExecStart' | 'ExecStop', env: Record<string, string> = {}) {
  return lab.runInNode('node1', unitCommand(lab.fsRoot('node1'), key), env);
}

describe.skipIf(!isRoot)('the boot-time setup on an emulated node', () => {
  describe('install, the unit, verify and uninstall', () => {
    let lab: EmulatedLab;
    let root: string;
    let pristine: string;
    beforeAll(async () => {
      lab = await buildLab(SEED);
      root = lab.fsRoot('node1');
      pristine = await nodeState(lab, 'node1');
    });
    afterAll(() => lab.remove());

    it('install writes the script and an enabled unit into the node tree, touches no network, and a second install changes nothing', async () => {
      const install = await lab.runScript('node1', ['install', '--root', root]);
      expect(install.status, install.stderr).toBe(0);
      expect(install.stdout).toContain(`  + wrote ${root}${INSTALLED} (this script)\n`);
      expect(install.stdout).toContain(`  + wrote ${root}/etc/systemd/system/${UNIT} (systemd unit)\n`);
      expect(install.stdout).toContain(`At every boot systemd runs: ${INSTALLED} apply --boot\n`);
      expect(treeOf(root)).toEqual([
        `etc/systemd/system/${UNIT} 644`,
        `etc/systemd/system/multi-user.target.wants/${UNIT} -> /etc/systemd/system/${UNIT}`,
        `etc/systemd/system/sys-subsystem-net-devices-ens160.device.wants/${UNIT} -> /etc/systemd/system/${UNIT}`,
        `usr/local/sbin/macvlan-gen-node1 755`,
      ]);
      expect(readFileSync(path.join(root, INSTALLED), 'utf8')).toBe(readFileSync(lab.scriptPath('node1'), 'utf8'));
      // systemd itself, reading the tree, agrees that the unit is enabled.
      expect(execFileSync('systemctl', [`--root=${root}`, 'is-enabled', UNIT], { encoding: 'utf8' }).trim()).toBe('enabled');
      expect(await nodeState(lab, 'node1')).toBe(pristine);

      const before = statSync(path.join(root, 'etc/systemd/system', UNIT)).mtimeMs;
      const again = await lab.runScript('node1', ['install', '--root', root]);
      expect(again.status).toBe(0);
      expect(again.stdout).not.toMatch(/^ {2}[+-] /m);
      expect(again.stdout).toContain(`  = ${root}/etc/systemd/system/${UNIT} is up to date (systemd unit)\n`);
      expect(statSync(path.join(root, 'etc/systemd/system', UNIT)).mtimeMs).toBe(before);
    });

    it("the unit's ExecStart brings the node up as apply does, and its ExecStop down as teardown does", async () => {
      const start = await runUnitCommand(lab, 'ExecStart');
      expect(start.status, start.stderr).toBe(0);
      expect(start.stdout).toContain('At boot: nobody confirms the host migration; it is kept only if its probes answer.\n');
      const booted = await nodeState(lab, 'node1');
      expect(booted).toMatch(/inet 192\.168\.179\.9\/16 scope global mac0/);

      const stop = await runUnitCommand(lab, 'ExecStop');
      expect(stop.status, stop.stderr).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);

      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      expect(normalizeState(await nodeState(lab, 'node1'))).toBe(normalizeState(booted));
      // `systemctl start` on a node applied by hand: the unit becomes active and nothing changes.
      const adopt = await runUnitCommand(lab, 'ExecStart');
      expect(adopt.status).toBe(0);
      expect(adopt.stdout).toContain('Nothing to do: the node already matches the config; nothing was changed.');
      expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    });

    it('verify reports the unit installed, enabled and from this script, and names a stale or disabled one', async () => {
      expect((await runUnitCommand(lab, 'ExecStart')).status).toBe(0);
      const ok = await lab.runScript('node1', ['verify', '--root', root]);
      expect(ok.status, ok.stdout).toBe(0);
      expect(ok.stdout).toContain(`  ok    boot: ${root}${INSTALLED} is this script (config sha256 `);
      expect(ok.stdout).toContain(`  ok    boot: ${root}/etc/systemd/system/${UNIT} is the unit this script installs\n`);
      expect(ok.stdout).toContain(`  ok    boot: ${UNIT} is enabled at boot and when ens160 appears\n`);

      // The node's script regenerated from a changed config: the installed copy is now the old one.
      const changed = configOf(SEED_TEXT.replace('address: 192.168.179.13/16', 'address: 192.168.179.23/16'));
      const [newer] = renderConfig(changed, 'changed').scripts.filter((script) => script.node === 'node1');
      const newerPath = path.join(path.dirname(lab.scriptPath('node1')), 'node1-newer.sh');
      writeFileSync(newerPath, newer?.content ?? '', { mode: 0o755 });
      const stale = await lab.runInNode('node1', ['bash', newerPath, 'verify', '--root', root]);
      expect(stale.status).toBe(1);
      expect(stale.stdout).toMatch(/ {2}FAIL {2}boot: .*macvlan-gen-node1 is this script/);
      // buildLab renders with the config sha256 "test".
      expect(stale.stdout).toContain('        it is from config sha256 test: run node1-newer.sh install to replace it\n');
      expect(stale.stdout).toMatch(/ {2}FAIL {2}boot: .*macvlan-gen-node1\.service is the unit this script installs/);

      execFileSync('rm', [path.join(root, 'etc/systemd/system/multi-user.target.wants', UNIT)]);
      const disabled = await lab.runScript('node1', ['verify', '--root', root]);
      expect(disabled.status).toBe(1);
      expect(disabled.stdout).toContain(`  FAIL  boot: ${UNIT} is enabled at boot and when ens160 appears\n`);
      expect((await lab.runScript('node1', ['install', '--root', root])).stdout).toContain(`  + enabled ${UNIT}: `);
      expect((await lab.runScript('node1', ['verify', '--root', root])).status).toBe(0);
    });

    it('uninstall removes what install wrote and leaves the network; --teardown takes the network down too', async () => {
      const applied = await nodeState(lab, 'node1');
      const uninstall = await lab.runScript('node1', ['uninstall', '--root', root]);
      expect(uninstall.status, uninstall.stderr).toBe(0);
      expect(uninstall.stdout).toContain(`  - removed ${root}/etc/systemd/system/${UNIT} (systemd unit)\n`);
      expect(uninstall.stdout).toContain('The running network stays as it is; "node1.sh teardown" removes it.\n');
      expect(treeOf(root)).toEqual([]);
      expect(await nodeState(lab, 'node1')).toBe(applied);
      const verify = await lab.runScript('node1', ['verify', '--root', root]);
      expect(verify.status).toBe(0);
      expect(verify.stdout).toContain('  note  not installed for boot: a reboot loses this setup (node1.sh install keeps it)\n');

      const again = await lab.runScript('node1', ['uninstall', '--root', root]);
      expect(again.status).toBe(0);
      expect(again.stdout).not.toMatch(/^ {2}[+-] /m);
      expect(again.stdout).toContain(`  = ${root}${INSTALLED} is not there (installed copy of this script)\n`);

      expect((await lab.runScript('node1', ['install', '--root', root])).status).toBe(0);
      const down = await lab.runScript('node1', ['uninstall', '--root', root, '--teardown']);
      expect(down.status, down.stderr).toBe(0);
      expect(treeOf(root)).toEqual([]);
      expect(await nodeState(lab, 'node1')).toBe(pristine);
    });
  });

  describe('the host migration at boot, with nobody watching', () => {
    it('does not wait for a confirmation that nobody can give: the probes decide', async () => {
      const lab = await buildLab(withNode1Shim('      confirmTimeout: 60\n'));
      try {
        expect((await lab.runScript('node1', ['install', '--root', lab.fsRoot('node1')])).status).toBe(0);
        const started = Date.now();
        const start = await runUnitCommand(lab, 'ExecStart');
        expect(start.status, start.stderr).toBe(0);
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(start.stdout).toContain('192.168.1.1 answered; the host address stays on mac0\n');
        expect(await nodeState(lab, 'node1')).toMatch(/inet 192\.168\.179\.9\/16 scope global mac0/);
      } finally {
        lab.remove();
      }
    });

    it('reverts when the gateway stays silent, fails the unit (exit 5) with the reason on its output, and keeps the node reachable', async () => {
      const lab = await buildLab(SEED);
      try {
        expect((await lab.runScript('node2', ['apply'])).status).toBe(0);
        expect((await lab.runScript('node1', ['install', '--root', lab.fsRoot('node1')])).status).toBe(0);
        execFileSync('ip', ['-n', `${lab.prefix}-gw`, 'addr', 'del', '192.168.1.1/16', 'dev', 'lan0']);
        const start = await runUnitCommand(lab, 'ExecStart', FAST_PROBES);
        expect(start.status).toBe(5);
        // What systemd writes to the journal is the unit's output: the reason is there.
        expect(start.stderr).toContain('host migration reverted: 192.168.1.1 did not answer within 3s; the host address is back on ens160');
        expect(await nodeState(lab, 'node1')).toMatch(/inet 192\.168\.179\.9\/16 scope global ens160/);
        expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
      } finally {
        lab.remove();
      }
    });
  });

  describe('the parent NIC goes and comes back', () => {
    let lab: EmulatedLab;
    beforeAll(async () => {
      lab = await buildLab(SEED);
    });
    afterAll(() => lab.remove());

    it('when the parent NIC goes, ExecStop tears down; when it comes back, the unit its device wants waits for the address and applies', async () => {
      const root = lab.fsRoot('node1');
      expect((await lab.runScript('node1', ['install', '--root', root])).status).toBe(0);
      // systemd starts what a device unit wants when the device appears: the link install made says the unit is one.
      const wanted = path.join(root, 'etc/systemd/system/sys-subsystem-net-devices-ens160.device.wants', UNIT);
      expect(execFileSync('readlink', [wanted], { encoding: 'utf8' }).trim()).toBe(`/etc/systemd/system/${UNIT}`);
      expect((await runUnitCommand(lab, 'ExecStart')).status).toBe(0);
      const applied = normalizeState(await nodeState(lab, 'node1'));

      const sw = `${lab.prefix}-lan`;
      const node = `${lab.prefix}-node-node1`;
      execFileSync('ip', ['-n', sw, 'link', 'del', 'p0']);
      const stop = await runUnitCommand(lab, 'ExecStop');
      expect(stop.status, stop.stderr).toBe(0);
      // The NIC comes back bare; the node's own network setup puts the host address on it a little later.
      execFileSync('ip', ['-n', sw, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'ens160', 'netns', node]);
      execFileSync('ip', ['-n', sw, 'link', 'set', 'p0', 'master', 'br0', 'up']);
      execFileSync('ip', ['-n', node, 'link', 'set', 'ens160', 'up']);
      const start = runUnitCommand(lab, 'ExecStart', FAST_PROBES);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      execFileSync('ip', ['-n', node, 'addr', 'add', '192.168.179.9/16', 'dev', 'ens160']);
      execFileSync('ip', ['-n', node, 'route', 'add', 'default', 'via', '192.168.1.1', 'dev', 'ens160']);
      const started = await start;
      expect(started.status, started.stdout + started.stderr).toBe(0);
      expect(started.stdout).toContain('Waiting up to 60s for the host address 192.168.179.9/16 on ens160\n');
      expect(normalizeState(await nodeState(lab, 'node1'))).toBe(applied);
      expect(await pingFrom(lab, 'node2', '192.168.179.9')).toBe(true);
      expect((await runUnitCommand(lab, 'ExecStop')).status).toBe(0);
    });
  });

  it('without systemd in the tree, install says so and verify checks the copy and repeats the line for the init system', async () => {
    const lab = await buildLab(SEED);
    try {
      const plain = path.join(path.dirname(lab.fsRoot('node1')), 'node1-without-systemd');
      mkdirSync(plain);
      const install = await lab.runScript('node1', ['install', '--root', plain]);
      expect(install.status, install.stderr).toBe(0);
      expect(install.stdout).toContain(`No systemd here (no ${plain}/etc/systemd/system)`);
      expect(treeOf(plain)).toEqual(['usr/local/sbin/macvlan-gen-node1 755']);
      expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
      const verify = await lab.runScript('node1', ['verify', '--root', plain]);
      expect(verify.status, verify.stdout).toBe(0);
      expect(verify.stdout).toContain(`  ok    boot: ${plain}${INSTALLED} is this script (config sha256 test)\n`);
      expect(verify.stdout).toContain(`  note  no systemd: the init system must run "${INSTALLED} apply --boot" at boot\n`);
      expect(verify.stdout).not.toContain(UNIT);
    } finally {
      lab.remove();
    }
  });

  it('install leaves no file of a lab behind once the lab is removed', async () => {
    const lab = await buildLab(SEED);
    const root = lab.fsRoot('node1');
    expect((await lab.runScript('node1', ['install', '--root', root])).status).toBe(0);
    lab.remove();
    expect(existsSync(root)).toBe(false);
  });
});
