// The generated seed scripts on real machines: Debian VMs under qemu with systemd as PID 1, udev and a vmxnet3 NIC
// named ens160 (see test/support/vm.ts). What network namespaces cannot show: an operator's SSH session riding the
// NIC whose address moves, the unit started by a real boot, a revert at boot, and uninstall leaving nothing behind.
// Needs root, qemu and mmdebstrap; in CI it must run, never skip.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReachability } from '../../src/lab/expect.js';
import { renderConfig } from '../../src/pipeline.js';
import { shq } from '../../src/render/shq.js';
import { EXAMPLES, ROOT } from '../support/cli.js';
import { configOf, SEED_TEXT } from '../support/lab.js';
import { ensureImage, stateOf, VmBench, whyNoVms } from '../support/vm.js';

const whyNot = whyNoVms();
if (process.env['CI'] && whyNot !== undefined) throw new Error(`CI installs what the VM bench needs: it must run there, not be skipped (${whyNot})`);
if (whyNot !== undefined) console.warn(`skipping the VM bench: ${whyNot}`);

const PLAN = renderConfig(configOf(SEED_TEXT), 'vm').plan;
const SCRIPTS = path.join(EXAMPLES, 'out', 'seed');
const UNIT = 'macvlan-gen-node1.service';
const NODE1 = '192.168.179.9';
const GATEWAY = '192.168.1.1';
/** The real boots' journals the persistence page shows: `npm run docs:record:vm` writes them anew. */
const JOURNALS = path.join(ROOT, 'docs', 'generated', 'vm');
const RECORDING = process.env['MACVLAN_GEN_VM_RECORD'] === '1';

/** A journal's messages without time, host and pid, and without what differs between two boots (CPU time). */
const messagesOf = (journal: string): string[] =>
  journal.trim().split('\n').map((line) => line.replace(/^\w{3} +\d+ [\d:]+ \S+ [^:]+: /, '').replace(/Consumed [\d.]+m?s CPU time/, 'Consumed some CPU time'));

/**
 * Records the unit's journal of this boot for the docs, or checks that the recorded one still says what this boot
 * said, message for message: a change to the script shows up as a stale page, not as silent drift.
 */
async function journalForDocs(bench: VmBench, file: string): Promise<void> {
  const journal = await bench.shell('node1', `journalctl -b -q --no-pager -o short -u ${UNIT}`);
  const recorded = path.join(JOURNALS, file);
  if (RECORDING) {
    mkdirSync(JOURNALS, { recursive: true });
    writeFileSync(recorded, journal);
    return;
  }
  expect(existsSync(recorded), `${recorded} is missing: run npm run docs:record:vm`).toBe(true);
  expect(messagesOf(journal), `${recorded} is stale: run npm run docs:record:vm`).toEqual(messagesOf(readFileSync(recorded, 'utf8')));
}

/** The journal of the unit in this boot, one message a line without time, host and pid. */
const unitJournal = (bench: VmBench): Promise<string> => bench.shell('node1', `journalctl -b -q --no-pager -o cat -u ${UNIT}`);

describe.skipIf(whyNot !== undefined)('the seed scripts on virtual machines (qemu, systemd, vmxnet3, SSH)', () => {
  let bench: VmBench;
  let before = '';

  beforeAll(async () => {
    const image = await ensureImage();
    if (image.builtSeconds > 0) console.log(`VM image built in ${image.builtSeconds.toFixed(0)} s: ${image.dir}`);
    const started = Date.now();
    // node1 has the seed's vmxnet3; node2 a virtio NIC, the other driver a KVM or cloud node has.
    bench = await VmBench.start(PLAN, image, { nics: { node1: 'vmxnet3', node2: 'virtio-net-pci' } });
    console.log(`VMs up (${bench.accel}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await bench.copy('node1', [path.join(SCRIPTS, 'node1.sh')], '/root');
    await bench.copy('node2', [path.join(SCRIPTS, 'node2.sh')], '/root');
    before = await stateOf(bench, 'node1');
  }, 900_000);

  afterAll(async () => {
    await bench?.close();
  });

  it('an SSH session from node2 survives node1.sh apply moving the address it rides; confirm from a second session; verify clean; the matrix holds', async () => {
    const report = `echo "after apply (exit $status) the session lives; ${NODE1} is on $(ip -o -4 addr show to ${NODE1} | cut -d' ' -f2)"`;
    const session = await bench.ssh('node2', `ssh -tt root@${NODE1} ${shq(`/root/node1.sh apply; status=$?; sleep 3; ${report}`)}`, 300);
    const output = session.stdout.replace(/\r/g, '');
    expect(output, session.stderr).toContain('Within 120s, from a NEW session, run: node1.sh confirm');
    expect(output).toContain('after apply (exit 0) the session lives; 192.168.179.9 is on mac0');
    expect(session.status).toBe(0);

    // The session that ran apply has closed; a second one finds the guard waiting.
    const confirm = await bench.ssh('node2', `ssh root@${NODE1} /root/node1.sh confirm`);
    expect(confirm.status, confirm.stdout + confirm.stderr).toBe(0);
    expect(await bench.shell('node1', 'cat /run/macvlan-gen/node1.migration')).toBe('migrated\n');
    // The guard ran as a transient systemd service, out of reach of the SSH session that started it.
    expect(await bench.shell('node1', "journalctl -q --no-pager -o cat -u 'macvlan-gen-node1-guard-*'")).toMatch(/^Started macvlan-gen-node1-guard-\d+\.service/m);

    const verify = await bench.ssh('node1', '/root/node1.sh verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    await bench.shell('node2', '/root/node2.sh apply');

    const results = await bench.probe(expectReachability(bench.topology));
    const wrong = results.filter((r) => r.actual !== r.reach).map((r) => `${r.from} -> ${r.to}: ${r.actual ? 'answered' : 'silent'}, expected ${r.reach ? 'an answer' : 'silence'} (${r.reason})`);
    expect(wrong).toEqual([]);
    expect(results.filter((r) => r.reach).length).toBeGreaterThan(10);
  }, 600_000);

  it('install, then a real reboot: the unit runs once at boot and node1 comes up with namespaces, shim and routes, verify clean', async () => {
    await bench.shell('node1', '/root/node1.sh install');
    await bench.reboot('node1');
    expect((await bench.ssh('node1', `systemctl is-active ${UNIT}`)).stdout).toBe('active\n');
    const journal = await unitJournal(bench);
    expect(journal.match(/^Finished macvlan-gen-node1\.service/gm)?.length, journal).toBe(1);
    expect(journal.match(/^Starting macvlan-gen-node1\.service/gm)?.length, journal).toBe(1);
    // Ordered as the unit says: after ifupdown has put the address on ens160, done before the network is online.
    const [networking, started, exited, online] = (await bench.shell('node1', [
      'systemctl show -P ActiveEnterTimestampMonotonic networking.service',
      `systemctl show -P ExecMainStartTimestampMonotonic ${UNIT}`,
      `systemctl show -P ExecMainExitTimestampMonotonic ${UNIT}`,
      'systemctl show -P ActiveEnterTimestampMonotonic network-online.target',
    ].join('; '))).trim().split('\n').map(Number);
    expect(networking).toBeGreaterThan(0);
    expect(started).toBeGreaterThanOrEqual(networking ?? Infinity);
    expect(online).toBeGreaterThanOrEqual(exited ?? Infinity);

    const verify = await bench.ssh('node1', '/root/node1.sh verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(await bench.shell('node1', 'ip netns list | cut -d" " -f1 | sort')).toBe('ns1\nns2\n');
    expect(await bench.shell('node1', `ip -o -4 addr show to ${NODE1} | cut -d' ' -f2`)).toBe('mac0\n');
    expect(await bench.shell('node1', 'ip route show default')).toMatch(new RegExp(`^default via ${GATEWAY.replace(/\./g, '\\.')} dev mac0`));
    expect(await bench.shell('node1', 'ip netns exec ns1 ip route show default')).toMatch(/^default via 192\.168\.1\.1 dev mac1/);
    const fromNode2 = await bench.probe(expectReachability(bench.topology).filter((e) => e.from === 'node2' && e.to.startsWith('node1')));
    expect(fromNode2.filter((r) => r.actual !== r.reach)).toEqual([]);
    await journalForDocs(bench, 'boot-journal.txt');
  }, 600_000);

  it('gateway down, then a reboot: apply --boot puts the address back on ens160 and the unit fails with exit 5, saying why', async () => {
    await bench.gatewayLink('down');
    try {
      await bench.reboot('node1');
      const shown = await bench.shell('node1', `systemctl show -p ActiveState -p Result -p ExecMainStatus ${UNIT}`);
      expect(shown.split('\n').sort().join('\n')).toBe('\nActiveState=failed\nExecMainStatus=5\nResult=exit-code');
      const journal = await unitJournal(bench);
      expect(journal).toMatch(/host migration reverted: 192\.168\.1\.1 did not answer within \d+s; the host address is back on ens160/);
      // The bench's SSH login reached node1 at its address: it is on the parent again.
      expect(await bench.shell('node1', `ip -o -4 addr show to ${NODE1} | cut -d' ' -f2`)).toBe('ens160\n');
      await journalForDocs(bench, 'boot-journal-reverted.txt');
    } finally {
      await bench.gatewayLink('up');
    }
  }, 600_000);

  it('uninstall --teardown leaves node1 as it was before the first apply: links, addresses, routes, settings, units, files', async () => {
    const uninstall = await bench.ssh('node1', '/root/node1.sh uninstall --teardown');
    expect(uninstall.status, uninstall.stdout + uninstall.stderr).toBe(0);
    expect(await stateOf(bench, 'node1')).toBe(before);
  }, 300_000);
});
