// Per-namespace DNS (issue 17): apply writes each namespace's /etc/netns/NS/resolv.conf, which `ip netns exec`
// shows as /etc/resolv.conf; lookups in the namespace go to its nameserver, with its search domains; a second apply
// changes nothing, verify checks the file and what the namespace reads, a file someone else wrote is refused, and
// teardown removes what apply wrote. The lab gives each node an /etc of its own (an overlay): the real one is never
// written. Root only.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { labPaths } from '../../src/lab/commands.js';
import { renderConfig } from '../../src/pipeline.js';
import { EXAMPLES } from '../support/cli.js';
import { buildLab, configOf, shellIn } from '../support/lab.js';

const isRoot = process.getuid?.() === 0;
if (process.env['CI'] && !isRoot) throw new Error('CI runs as root: the lab tests must run there, not be skipped');

// The DNS example, with the lab's gateway router (192.168.1.1) as the nameserver that answers.
const TEXT = readFileSync(path.join(EXAMPLES, 'dns.yaml'), 'utf8').replace('dns: [192.168.1.53, 10.20.0.53]', 'dns: [192.168.1.1, 10.20.0.53]').replace('dns: [192.168.1.53]', 'dns: [192.168.1.1]');
const CONFIG = configOf(TEXT);
const PLAN = renderConfig(CONFIG, 'test').plan;
const resolvConf = (node: string, netns: string): string => {
  const file = PLAN.nodes.find((n) => n.name === node)?.namespaces.find((ns) => ns.name === netns)?.resolvConf;
  if (file === undefined) throw new Error(`no resolver for ${node}/${netns} in the plan`);
  return file;
};
const realEtcNetns = (): string[] | null => (existsSync('/etc/netns') ? readdirSync('/etc/netns').sort() : null);

describe.skipIf(!isRoot)('per-namespace DNS on emulated nodes', () => {
  let lab: EmulatedLab;
  let realBefore: string[] | null;
  let stopDns = (): void => undefined;
  beforeAll(async () => {
    realBefore = realEtcNetns();
    lab = await buildLab(CONFIG);
    // A nameserver on the gateway router that knows one name, www.lab.example.com (found through the search domain).
    const gateway = labPaths(lab.prefix).netns('gw');
    const pidFile = `${labPaths(lab.prefix).dir}/dns.pid`;
    const dnsmasq = spawnSync('ip', ['netns', 'exec', gateway, 'dnsmasq', `--pid-file=${pidFile}`, '--port=53', '--listen-address=192.168.1.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', '--address=/www.lab.example.com/10.9.9.9', '--address=/www.apps.example.com/10.9.9.8'], { encoding: 'utf8' });
    if (dnsmasq.status !== 0) throw new Error(`dnsmasq on the gateway failed: ${dnsmasq.stderr}`);
    stopDns = () => {
      if (existsSync(pidFile)) spawnSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
    };
  });
  afterAll(() => {
    stopDns();
    lab?.remove();
  });

  it('apply writes each resolver, readable by everyone; lookups in the namespace use it; a namespace without one sees the node\'s', async () => {
    const apply = await lab.runScript('node1', ['apply']);
    expect(apply.status, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toContain('[dns] ');
    expect(apply.stdout).toContain('  + mkdir -p /etc/netns/ns1 && printf %s $\'# macvlan-gen: ');
    expect(await shellIn(lab, 'node1', 'cat /etc/netns/ns1/resolv.conf')).toBe(resolvConf('node1', 'ns1'));
    expect(await shellIn(lab, 'node1', 'stat -c "%a %U" /etc/netns /etc/netns/ns1 /etc/netns/ns1/resolv.conf')).toBe('755 root\n755 root\n644 root\n');
    expect(await shellIn(lab, 'node1', 'ip netns exec ns1 cat /etc/resolv.conf')).toBe(resolvConf('node1', 'ns1'));
    expect(await shellIn(lab, 'node1', 'ls /etc/netns')).toBe('ns1\n');
    expect(await shellIn(lab, 'node1', 'ip netns exec ns2 cat /etc/resolv.conf')).toBe(await shellIn(lab, 'node1', 'cat /etc/resolv.conf'));
    // Both search domains, in order: www is found in the first one that has it.
    expect(await shellIn(lab, 'node1', 'ip netns exec ns1 getent hosts www')).toMatch(/^10\.9\.9\.8\s+www\.apps\.example\.com\n$/);
    expect(await shellIn(lab, 'node1', 'ip netns exec ns1 getent hosts www.lab.example.com')).toMatch(/^10\.9\.9\.9\s+www\.lab\.example\.com\n$/);
    // node2's namespace has the defaults' resolver.
    expect((await lab.runScript('node2', ['apply'])).status).toBe(0);
    expect(await shellIn(lab, 'node2', 'ip netns exec ns1 cat /etc/resolv.conf')).toBe(resolvConf('node2', 'ns1'));
    expect(await shellIn(lab, 'node2', 'ip netns exec ns1 getent hosts www')).toMatch(/^10\.9\.9\.9\s+www\.lab\.example\.com\n$/);
    expect(realEtcNetns(), 'the real /etc/netns').toEqual(realBefore);
  });

  it('a second apply changes nothing, and verify checks the file and what the namespace reads', async () => {
    const again = await lab.runScript('node1', ['apply']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('  = ns1: /etc/netns/ns1/resolv.conf is as the config says');
    expect(again.stdout).not.toMatch(/^ {2}\+ /m);
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('  ok    ns1: /etc/netns/ns1/resolv.conf is as the config says\n');
    expect(verify.stdout).toContain('  ok    ns1: commands run in it read that file as /etc/resolv.conf\n');
  });

  it('a file changed by hand fails verify, and apply writes it again', async () => {
    await shellIn(lab, 'node1', 'echo "options ndots:5" >> /etc/netns/ns1/resolv.conf');
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('  FAIL  ns1: /etc/netns/ns1/resolv.conf is as the config says\n');
    const plan = await lab.runScript('node1', ['plan']);
    expect(plan.stdout).toContain('  mkdir -p /etc/netns/ns1 && printf %s ');
    expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
    expect(await shellIn(lab, 'node1', 'cat /etc/netns/ns1/resolv.conf')).toBe(resolvConf('node1', 'ns1'));
    expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
  });

  it('a resolver left for a namespace that the config no longer gives one fails verify, and apply removes it', async () => {
    // As an earlier config's apply would have left it for ns2 (dns: [] now).
    await shellIn(lab, 'node1', 'mkdir -p /etc/netns/ns2 && sed s/ns1/ns2/ /etc/netns/ns1/resolv.conf > /etc/netns/ns2/resolv.conf');
    const verify = await lab.runScript('node1', ['verify']);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toContain('  FAIL  ns2: /etc/netns/ns2/resolv.conf is left from a config that gave it a resolver (apply removes it)\n');
    const apply = await lab.runScript('node1', ['apply']);
    expect(apply.status, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('  note: ns2: /etc/netns/ns2/resolv.conf is left from a config that gave it a resolver\n  + rm /etc/netns/ns2/resolv.conf\n');
    expect(await shellIn(lab, 'node1', 'ls /etc/netns')).toBe('ns1\n');
    expect((await lab.runScript('node1', ['verify'])).status).toBe(0);
  });

  it('a resolv.conf that someone else wrote is refused, not replaced', async () => {
    expect((await lab.runScript('node2', ['teardown'])).status).toBe(0);
    await shellIn(lab, 'node2', 'mkdir -p /etc/netns/ns1 && echo "nameserver 192.0.2.53" > /etc/netns/ns1/resolv.conf');
    const apply = await lab.runScript('node2', ['apply']);
    expect(apply.status, apply.stdout).toBe(3);
    expect(apply.stderr).toContain("node2.sh: error: preflight: /etc/netns/ns1/resolv.conf exists and macvlan-gen did not write it (its first line is not '# macvlan-gen: ...'): move it away, or remove dns from namespace ns1 in the config");
    expect(await shellIn(lab, 'node2', 'cat /etc/netns/ns1/resolv.conf')).toBe('nameserver 192.0.2.53\n');
    expect(await shellIn(lab, 'node2', 'ip netns list')).toBe('');
    await shellIn(lab, 'node2', 'rm -r /etc/netns');
  });

  it('teardown removes the files apply wrote and the directories it leaves empty, and nothing else', async () => {
    await shellIn(lab, 'node1', 'mkdir -p /etc/netns/other && echo "nameserver 192.0.2.53" > /etc/netns/other/resolv.conf');
    const teardown = await lab.runScript('node1', ['teardown']);
    expect(teardown.status, teardown.stderr).toBe(0);
    expect(teardown.stdout).toContain('  + rm /etc/netns/ns1/resolv.conf\n');
    expect(await shellIn(lab, 'node1', 'find /etc/netns | sort')).toBe('/etc/netns\n/etc/netns/other\n/etc/netns/other/resolv.conf\n');
    await shellIn(lab, 'node1', 'rm -r /etc/netns/other');
    expect((await lab.runScript('node1', ['apply'])).status).toBe(0);
    expect((await lab.runScript('node1', ['teardown'])).status).toBe(0);
    expect(await shellIn(lab, 'node1', 'test -e /etc/netns && echo left || echo gone')).toBe('gone\n');
    const again = await lab.runScript('node1', ['teardown']);
    expect(again.stdout).toContain('Nothing to tear down');
    expect(realEtcNetns(), 'the real /etc/netns').toEqual(realBefore);
  });

  it('verify fails where the bind mount does: /etc/resolv.conf a symlink to a missing file (systemd-resolved stopped)', async () => {
    expect((await lab.runScript('node2', ['apply'])).status).toBe(0);
    // Only this node's /etc changes: the lab's overlay.
    await shellIn(lab, 'node2', 'mv /etc/resolv.conf /etc/resolv.conf.lab && ln -s /run/mvlab-missing/stub-resolv.conf /etc/resolv.conf');
    try {
      const plan = await lab.runScript('node2', ['plan']);
      expect(plan.stdout).toContain('  note: /etc/resolv.conf does not exist (or is a symlink to a missing file): until it does, ip netns exec cannot show the namespaces their resolvers in its place, and verify fails\n');
      const verify = await lab.runScript('node2', ['verify']);
      expect(verify.status).toBe(1);
      expect(verify.stdout).toContain('  ok    ns1: /etc/netns/ns1/resolv.conf is as the config says\n');
      expect(verify.stdout).toContain('  FAIL  ns1: commands run in it read that file as /etc/resolv.conf\n');
      const exec = await lab.runInNode('node2', ['ip', 'netns', 'exec', 'ns1', 'true']);
      expect(exec.stderr).toContain('Bind /etc/netns/ns1/resolv.conf -> /etc/resolv.conf failed');
    } finally {
      await shellIn(lab, 'node2', 'rm /etc/resolv.conf && mv /etc/resolv.conf.lab /etc/resolv.conf');
    }
    expect((await lab.runScript('node2', ['verify'])).status).toBe(0);
    expect(realEtcNetns(), 'the real /etc/netns').toEqual(realBefore);
  });
});
