// scripts/system-packages.sh against stand-in dpkg-query, apt-get and id on a PATH of their own: what it installs,
// when it only says what to install, and that it stays quiet when nothing is missing. Nothing here touches the
// machine's real packages.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintScripts } from '../../src/lint/lint.js';
import { BASH, ROOT, tempDir } from '../support/cli.js';

const SCRIPT = path.join(ROOT, 'scripts', 'system-packages.sh');

// The stand-ins keep their state in $STATE: `installed` (one package a line) and `apt-get.log` (one call a line).
const FAKES = {
  'dpkg-query': `#!${BASH}
package="\${!#}"
while read -r installed; do
  if [[ "\${installed}" == "\${package}" ]]; then printf 'install ok installed'; exit 0; fi
done < "\${STATE}/installed"
printf 'dpkg-query: no packages found matching %s\\n' "\${package}" >&2
exit 1
`,
  'apt-get': `#!${BASH}
printf '%s\\n' "$*" >> "\${STATE}/apt-get.log"
if [[ "\${APT_GET}" == fail ]]; then exit 100; fi
if [[ "$1" == install && "\${APT_GET}" != installs-nothing ]]; then
  for word in "\${@:2}"; do [[ "\${word}" == -* ]] || printf '%s\\n' "\${word}" >> "\${STATE}/installed"; done
fi
`,
  id: `#!${BASH}\nprintf '%s\\n' "\${UID_SEEN}"\n`,
};

interface Machine {
  state: string;
  run: (args: string[], env?: Record<string, string>) => { status: number | null; stdout: string; stderr: string };
  installed: () => string[];
  aptCalls: () => string[];
}

/** A machine whose only commands are the stand-ins (all of them, or those named), with these packages installed. */
function machine(installed: string[], commands: (keyof typeof FAKES)[] = ['dpkg-query', 'apt-get', 'id']): Machine {
  const dir = tempDir('system-packages');
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  mkdirSync(bin);
  mkdirSync(state);
  for (const command of commands) writeFileSync(path.join(bin, command), FAKES[command], { mode: 0o755 });
  writeFileSync(path.join(state, 'installed'), installed.map((name) => `${name}\n`).join(''));
  const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  return {
    state,
    run: (args, env = {}) => {
      const result = spawnSync(BASH, [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: bin, STATE: state, UID_SEEN: '0', APT_GET: 'works', ...env } });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    installed: () => lines(path.join(state, 'installed')),
    aptCalls: () => lines(path.join(state, 'apt-get.log')),
  };
}

const SEED = ['shellcheck'];
// What the tests reach for: shellcheck (lint), ip/ping/arping/nsenter (lab), systemd-analyze, dnsmasq and dhclient
// (the dhcp profile), Chromium and a CJK font (the docs site in both languages), qemu, mmdebstrap, mke2fs and ssh
// (the VM bench), Ansible and sshd (the fleet rollout).
const TEST = ['shellcheck', 'iproute2', 'iputils-ping', 'iputils-arping', 'util-linux', 'systemd', 'dnsmasq-base', 'isc-dhcp-client', 'radvd', 'chromium', 'fonts-wqy-microhei',
  'qemu-system-x86', 'qemu-utils', 'mmdebstrap', 'e2fsprogs', 'openssh-client',
  'ansible', 'openssh-server'];

describe('scripts/system-packages.sh', () => {
  it('says nothing and calls no apt-get when every package is there, as root or not', () => {
    const host = machine(TEST);
    for (const uid of ['0', '1000']) {
      for (const purpose of ['seed', 'test']) expect(host.run([purpose], { UID_SEEN: uid })).toEqual({ status: 0, stdout: '', stderr: '' });
    }
    expect(host.aptCalls()).toEqual([]);
  });

  it('seed installs shellcheck alone: one apt-get update, then the missing package, and nothing on the next run', () => {
    const host = machine([]);
    expect(host.run(['seed'])).toEqual({ status: 0, stdout: 'system-packages: installing shellcheck\n', stderr: '' });
    expect(host.aptCalls()).toEqual(['update -qq', 'install --yes --no-install-recommends shellcheck -qq']);
    expect(host.installed()).toEqual(SEED);
    expect(host.run(['seed'])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(host.aptCalls()).toHaveLength(2);
  });

  it('test installs only what is missing from the whole list, in one apt-get install', () => {
    const host = machine(['shellcheck', 'iproute2', 'systemd']);
    const run = host.run(['test']);
    const missing = TEST.filter((name) => !['shellcheck', 'iproute2', 'systemd'].includes(name));
    expect(run).toEqual({ status: 0, stdout: `system-packages: installing ${missing.join(' ')}\n`, stderr: '' });
    expect(host.aptCalls()).toEqual(['update -qq', `install --yes --no-install-recommends ${missing.join(' ')} -qq`]);
    expect(host.installed().sort()).toEqual([...TEST].sort());
    expect(host.run(['test']).stdout).toBe('');
  });

  it('not root and something missing: prints the exact command and exits 1, without calling apt-get or sudo', () => {
    const host = machine(['shellcheck', 'iproute2']);
    const run = host.run(['test'], { UID_SEEN: '1000' });
    const missing = TEST.slice(2).join(' ');
    expect(run).toEqual({
      status: 1,
      stdout: '',
      stderr: `system-packages: missing ${missing}; as root, run: apt-get update && apt-get install --yes --no-install-recommends ${missing}\n`,
    });
    expect(host.aptCalls()).toEqual([]);
  });

  it('without apt-get or dpkg-query: names every package and exits 1', () => {
    for (const commands of [['id'], ['id', 'dpkg-query'], ['id', 'apt-get']] as (keyof typeof FAKES)[][]) {
      const host = machine([], commands);
      expect(host.run(['seed'])).toEqual({
        status: 1,
        stdout: '',
        stderr: "system-packages: this system has no apt-get; install these Debian packages' equivalents with its package manager, then run again with MVG_SKIP_SYSTEM_PACKAGES=1: shellcheck\n",
      });
      expect(host.run(['test']).stderr).toContain(`MVG_SKIP_SYSTEM_PACKAGES=1: ${TEST.join(' ')}\n`);
      expect(host.run(['test'], { MVG_SKIP_SYSTEM_PACKAGES: '1' })).toEqual({ status: 0, stdout: '', stderr: '' });
    }
  });

  it('fails when apt-get fails, or leaves a package uninstalled', () => {
    const failing = machine([]);
    expect(failing.run(['seed'], { APT_GET: 'fail' }).status).toBe(100);
    expect(failing.aptCalls()).toEqual(['update -qq']);
    const silent = machine([]);
    expect(silent.run(['seed'], { APT_GET: 'installs-nothing' })).toMatchObject({
      status: 1,
      stderr: 'system-packages: apt-get finished but these are still not installed: shellcheck\n',
    });
  });

  it('exits 2 without a purpose or with an unknown one', () => {
    for (const args of [[], ['lab']]) {
      expect(machine([]).run(args)).toEqual({ status: 2, stdout: '', stderr: 'system-packages: usage: scripts/system-packages.sh seed|test\n' });
    }
  });

  it('is what the README commands and CI run', () => {
    const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['seed']).toMatch(/^bash scripts\/system-packages\.sh seed && /);
    expect(scripts['pretest']).toBe('bash scripts/system-packages.sh test');
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toMatch(/^```sh\nnpm ci && npm run seed .*\nnpm ci && npm test .*\n```$/m);
    expect(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm ci && npm test \|\| status=\$\?$/m);
  });

  it('has no shellcheck finding (all checks, style and up), nor has .ci/run', async () => {
    expect(await lintScripts([SCRIPT, path.join(ROOT, '.ci', 'run')])).toEqual([]);
  });
});
