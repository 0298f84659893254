// `node.sh install` without a network: the unit it writes passes `systemd-analyze verify` (Debian's systemd), a node
// without systemd gets the one line for its init, and bad use is refused. Everything goes into temporary trees
// (--root); nothing here writes to the real /etc or /usr. The lab tests run the unit's commands on emulated nodes.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { netDeviceUnit } from '../../src/render/systemd.js';
import { EXAMPLES, runScript, tempDir } from '../support/cli.js';

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (process.env['CI'] && !hasSystemdAnalyze) throw new Error('CI must check the unit with systemd-analyze: install Debian\'s systemd package');

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the install test on / must run there, not be skipped');

const SYSTEM_UNITS = '/usr/lib/systemd/system';
const scripts = readdirSync(path.join(EXAMPLES, 'out'), { recursive: true })
  .map(String)
  .filter((file) => file.endsWith('.sh'))
  .map((file) => path.join(EXAMPLES, 'out', file));

/** A tree that looks like a node with systemd; with `systemUnits`, one that also has systemd's own units. */
function systemdTree(systemUnits = false): string {
  const root = tempDir('root');
  mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
  if (systemUnits) cpSync(SYSTEM_UNITS, path.join(root, SYSTEM_UNITS), { recursive: true, verbatimSymlinks: true });
  return root;
}

describe('node.sh install, off the network', () => {
  it.skipIf(!hasSystemdAnalyze).each(scripts)('%s: the unit it installs passes systemd-analyze verify without a word', (script) => {
    const root = systemdTree(true);
    const install = runScript(script, ['install', '--root', root]);
    expect(install.status, install.stderr).toBe(0);
    const [unit] = readdirSync(path.join(root, 'etc/systemd/system')).filter((name) => name.endsWith('.service'));
    expect(unit).toMatch(/^macvlan-gen-[a-z0-9-]+\.service$/);
    const verify = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unit ?? ''], { encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    // systemd-analyze exits 0 on unknown keys and bad values too; it only says so.
    expect(verify.stdout + verify.stderr).toBe('');
  });

  it.skipIf(!hasSystemdAnalyze)('systemd-analyze verify does speak up about a broken unit, so its silence above means something', () => {
    const root = systemdTree(true);
    const [script = ''] = scripts;
    expect(runScript(script, ['install', '--root', root]).status).toBe(0);
    const [unit = ''] = readdirSync(path.join(root, 'etc/systemd/system')).filter((name) => name.endsWith('.service'));
    const unitPath = path.join(root, 'etc/systemd/system', unit);
    spawnSync('sed', ['-i', 's/^Type=oneshot$/Type=oneshoot/', unitPath]);
    const verify = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unit], { encoding: 'utf8' });
    expect(verify.stderr).toContain('Failed to parse service type');
  });

  it.skipIf(!hasSystemdAnalyze)('the unit is hardened as far as its job allows: systemd-analyze security rates it 7.0, no worse', () => {
    const root = systemdTree(true);
    const script = path.join(EXAMPLES, 'out/seed/node1.sh');
    expect(runScript(script, ['install', '--root', root]).status).toBe(0);
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', 'macvlan-gen-node1.service'], {
      cwd: path.join(root, 'etc/systemd/system'),
      encoding: 'utf8',
    });
    const score = /Overall exposure level for macvlan-gen-node1\.service: (\d+\.\d)/.exec(security.stdout)?.[1];
    expect(score, security.stdout + security.stderr).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(7.0);
    // What the job needs stays: no private mount namespace, so the namespaces it makes are the host's.
    expect(readFileSync(path.join(root, 'etc/systemd/system/macvlan-gen-node1.service'), 'utf8')).not.toMatch(/^(PrivateTmp|ProtectSystem|ProtectHome|RestrictNamespaces)=/m);
  });

  // systemd-escape comes in the same package as systemd-analyze.
  it.skipIf(!hasSystemdAnalyze)('names the parent NIC as systemd does (systemd-escape --path)', () => {
    for (const name of ['ens160', 'eth-0', 'br.100', 'bond_0', 'veth-a-b']) {
      const escaped = spawnSync('systemd-escape', ['--path', '--suffix=device', `/sys/subsystem/net/devices/${name}`], { encoding: 'utf8' });
      expect(escaped.status, escaped.stderr).toBe(0);
      expect(netDeviceUnit(name)).toBe(escaped.stdout.trim());
    }
  });

  describe('never writes outside the tree it is given (--root)', () => {
    const script = path.join(EXAMPLES, 'out/seed/node1.sh');
    const outside = (): string => {
      const file = path.join(tempDir('outside'), 'precious');
      writeFileSync(file, 'keep me\n', { mode: 0o600 });
      return file;
    };
    const untouched = (file: string) => {
      expect(readFileSync(file, 'utf8')).toBe('keep me\n');
      expect(statSync(file).mode & 0o777).toBe(0o600);
    };

    it('a planted temporary name is never followed: temporary files get new names, made exclusively', () => {
      const root = systemdTree();
      const precious = outside();
      mkdirSync(path.join(root, 'usr/local/sbin'), { recursive: true });
      symlinkSync(precious, path.join(root, 'usr/local/sbin/macvlan-gen-node1.tmp'));
      symlinkSync(precious, path.join(root, 'etc/systemd/system/macvlan-gen-node1.service.tmp'));
      const install = runScript(script, ['install', '--root', root]);
      expect(install.status, install.stderr).toBe(0);
      untouched(precious);
      expect(readFileSync(path.join(root, 'usr/local/sbin/macvlan-gen-node1'), 'utf8')).toBe(readFileSync(script, 'utf8'));
    });

    it('a target that is a symlink is refused (exit 3), and what it points to stays as it was', () => {
      const root = systemdTree();
      const precious = outside();
      mkdirSync(path.join(root, 'usr/local/sbin'), { recursive: true });
      symlinkSync(precious, path.join(root, 'usr/local/sbin/macvlan-gen-node1'));
      const install = runScript(script, ['install', '--root', root]);
      expect(install.status).toBe(3);
      expect(install.stderr).toContain(`${root}/usr/local/sbin/macvlan-gen-node1 is a symlink or not a regular file; install writes through none`);
      untouched(precious);
    });

    it('uninstall removes nothing through a directory that links out of the tree (exit 3)', () => {
      const root = tempDir('root');
      const elsewhere = tempDir('elsewhere');
      mkdirSync(path.join(elsewhere, 'system'), { recursive: true });
      const unit = path.join(elsewhere, 'system/macvlan-gen-node1.service');
      writeFileSync(unit, 'not yours\n');
      mkdirSync(path.join(root, 'etc'), { recursive: true });
      symlinkSync(elsewhere, path.join(root, 'etc/systemd'));
      const uninstall = runScript(script, ['uninstall', '--root', root]);
      expect(uninstall.status).toBe(3);
      expect(uninstall.stderr).toContain('leads out of');
      expect(readFileSync(unit, 'utf8')).toBe('not yours\n');
    });

    it('a directory of the tree that links out of it is refused (exit 3), and nothing is written there', () => {
      const root = tempDir('root');
      const elsewhere = tempDir('elsewhere');
      mkdirSync(path.join(root, 'etc'), { recursive: true });
      mkdirSync(path.join(elsewhere, 'system'));
      symlinkSync(elsewhere, path.join(root, 'etc/systemd'));
      const install = runScript(script, ['install', '--root', root]);
      expect(install.status).toBe(3);
      expect(install.stderr).toContain('is not a directory inside');
      expect(readdirSync(path.join(elsewhere, 'system'))).toEqual([]);
    });
  });

  it('without systemd, installs the script, says so and prints the one line for the init system', () => {
    const root = tempDir('no-systemd');
    const script = path.join(EXAMPLES, 'out/seed/node1.sh');
    const install = runScript(script, ['install', '--root', root]);
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout).toContain(`No systemd here (no ${root}/etc/systemd/system): nothing runs /usr/local/sbin/macvlan-gen-node1 at boot yet.\n`);
    expect(install.stdout).toMatch(/\n\n {2}\/usr\/local\/sbin\/macvlan-gen-node1 apply --boot\n$/);
    expect(readFileSync(path.join(root, 'usr/local/sbin/macvlan-gen-node1'), 'utf8')).toBe(readFileSync(script, 'utf8'));
    expect(existsSync(path.join(root, 'etc'))).toBe(false);
  });

  // The node's own / with a running systemd, inside a private mount namespace: tmpfs over /run, /etc/systemd/system
  // and /usr/local/sbin (gone when the namespace ends), and a systemctl that only notes how it was called.
  it.skipIf(!isRoot)('on a node running systemd, writes to / and has systemd reload its units', () => {
    const script = path.join(EXAMPLES, 'out/seed/node1.sh');
    const steps = [
      'set -e',
      'mount -t tmpfs none /run && mount -t tmpfs none /etc/systemd/system && mount -t tmpfs none /usr/local/sbin',
      'mkdir -p /run/systemd/system /run/fake-bin',
      'printf "#!/bin/sh\\necho \\"systemctl \\$*\\" >>/run/systemctl.calls\\n" >/run/fake-bin/systemctl && chmod +x /run/fake-bin/systemctl',
      `export PATH=/run/fake-bin:$PATH`,
      `bash ${script} install && bash ${script} install && echo "== after install" && ls -A /usr/local/sbin && ls -A /etc/systemd/system/multi-user.target.wants`,
      `bash ${script} uninstall && echo "== after uninstall" && ls -A /usr/local/sbin && ls -A /etc/systemd/system && cat /run/systemctl.calls`,
    ];
    const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', steps.join('\n')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Installing the boot-time setup of node node1 (root /)\n  + wrote /usr/local/sbin/macvlan-gen-node1 (this script)\n');
    expect(run.stdout).toContain('== after install\nmacvlan-gen-node1\nmacvlan-gen-node1.service\n');
    expect(run.stdout).toContain('== after uninstall\nmulti-user.target.wants\n');
    // Reloaded once by each install or uninstall that changed something, not by the install that found all in place.
    expect(run.stdout.match(/^ {2}\+ systemctl daemon-reload$/gm)).toHaveLength(2);
    // uninstall then asks whether systemd still holds the unit it removed (the stand-in knows of none).
    expect(run.stdout).toMatch(/\nsystemctl daemon-reload\nsystemctl daemon-reload\nsystemctl show -p LoadState -p ActiveState macvlan-gen-node1\.service\n$/);
  });

  it('refuses to replace a masked unit, and writes nothing', () => {
    const root = systemdTree();
    const unit = path.join(root, 'etc/systemd/system/macvlan-gen-node1.service');
    symlinkSync('/dev/null', unit);
    const install = runScript(path.join(EXAMPLES, 'out/seed/node1.sh'), ['install', '--root', root]);
    expect(install.status).toBe(3);
    expect(install.stderr).toContain(`${unit} is a symlink (a masked unit links to /dev/null); install replaces none`);
    expect(readlinkSync(unit)).toBe('/dev/null');
    expect(existsSync(path.join(root, 'usr'))).toBe(false);
  });

  it('refuses a --root that is not a directory, a stray argument, and a script not started from a file', () => {
    const script = path.join(EXAMPLES, 'out/seed/node2.sh');
    const missing = runScript(script, ['install', '--root', '/nonexistent/tree']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--root takes an existing directory, got '/nonexistent/tree'");
    const stray = runScript(script, ['uninstall', '--now']);
    expect(stray.status).toBe(2);
    expect(stray.stderr).toContain("unexpected argument '--now' after 'uninstall'");

    const root = systemdTree();
    const piped = spawnSync('bash', ['-s', 'install', '--root', root], { input: readFileSync(script), encoding: 'utf8' });
    expect(piped.status).toBe(2);
    expect(piped.stderr).toContain('this script was not started from a file');
    expect(readdirSync(path.join(root, 'etc/systemd/system'))).toEqual([]);
  });
});
