// Teardown starts one ip per namespace at once, up to 256; a pids cgroup (systemd's TasksMax, a container's limit)
// may allow fewer, and a bash that cannot fork ends on the spot, leaving its ip processes running. So the script
// starts no more streams than a quarter of what the tightest pids cgroup around it leaves. Here the script's
// namespace batches run in a pids cgroup of this test's own with room for 40 processes, against a stand-in `ip`
// (on PATH) that takes 0.3 s a batch: all 120 batches run and the teardown succeeds. Needs root (cgroups); touches no
// network.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderConfig, validateText } from '../../src/pipeline.js';
import { BASH, runScript, tempDir } from '../support/cli.js';

const NAMESPACES = 120;
const PIDS_MAX = 40;

/** A pids cgroup of this test's own: cgroup v1's pids hierarchy, or cgroup v2 where its root offers pids. */
function pidsCgroup(): string {
  const name = `mvg-test-pids-${process.pid}`;
  const v1 = '/sys/fs/cgroup/pids';
  if (existsSync(path.join(v1, 'tasks'))) return path.join(v1, name);
  const v2 = '/sys/fs/cgroup';
  if (readFileSync(path.join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('pids')) return path.join(v2, name);
  throw new Error('no pids cgroup controller to test with (neither cgroup v1 pids nor v2 with pids enabled at its root)');
}

describe('teardown inside a pids cgroup with less room than its namespaces', () => {
  let dir = '';
  let cgroup = '';
  beforeAll(() => {
    dir = tempDir('pids-limit');
    cgroup = pidsCgroup();
    mkdirSync(cgroup);
    writeFileSync(path.join(cgroup, 'pids.max'), String(PIDS_MAX));
  });
  afterAll(async () => {
    if (!cgroup || !existsSync(cgroup)) return;
    // Empty by then, unless the test failed part-way (a stand-in ip still waiting): end what it left, each by its
    // pid, and wait for it to go, since a cgroup with processes in it cannot be removed.
    const left = () => readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (let tries = 0; left().length > 0 && tries < 50; tries++) {
      for (const pid of left()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    rmdirSync(cgroup);
  });

  it('starts only as many ip at once as the cgroup leaves room for, and runs every batch', () => {
    const config = {
      version: 1,
      nodes: {
        node1: {
          parent: 'eth0',
          address: '10.51.0.1/8',
          gateway: '10.0.0.1',
          namespaces: Object.fromEntries(
            Array.from({ length: NAMESPACES }, (_, i) => [`ns${i + 1}`, { interface: `mv${i + 1}`, address: `10.51.1.${i + 2}/8` }]),
          ),
        },
      },
    };
    const { scripts } = renderConfig(validateText(stringify(config), 'pids.yaml').config, 'test');
    const script = path.join(dir, 'node1.sh');
    writeFileSync(script, scripts[0]?.content ?? '', { mode: 0o755 });
    // The stand-in ip waits without starting a process (read -t on a FIFO it holds open), then says what it ran.
    const fifo = path.join(dir, 'fifo');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'ip'),
      [
        `#!${BASH}`,
        'if [[ "$1" == -help ]]; then echo "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }  -n[etns] name"; exit 0; fi',
        'if [[ "$1" == -n && "$3" == -batch ]]; then',
        '  n=0; while IFS= read -r line; do [[ -z "${line}" ]] || n=$((n + 1)); done',
        `  read -r -t 0.3 <>${JSON.stringify(fifo)} || true`,
        '  echo "batch for $2: $n lines"; exit 0',
        'fi',
        'echo "stand-in ip: unexpected $*" >&2; exit 1',
      ].join('\n'),
      { mode: 0o755 },
    );
    const driver = path.join(dir, 'driver.sh');
    writeFileSync(
      driver,
      [
        `mkfifo ${JSON.stringify(fifo)}`,
        // Into the cgroup first: this bash and everything it starts count against pids.max.
        `echo "$$" >${JSON.stringify(path.join(cgroup, 'cgroup.procs'))}`,
        `source <(sed '$d' ${JSON.stringify(script)})`,
        'set +o errexit',
        'MODE=teardown',
        'detect_ip_netns_option',
        'pids_headroom',
        'echo "headroom ${PIDS_HEADROOM}"',
        'for netns in "${NAMESPACES[@]}"; do queue_ip "${netns}" link del dev "${NS_INTERFACE[${netns}]}"; done >/dev/null',
        'flush_namespace_queues',
        'echo "status $?"',
      ].join('\n'),
    );
    const run = runScript(driver, [], { PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    const headroom = Number(/^headroom (-?\d+)$/m.exec(run.stdout)?.[1]);
    expect(headroom).toBeGreaterThan(0);
    expect(headroom).toBeLessThan(PIDS_MAX);
    expect(run.stderr).toBe('');
    for (let i = 1; i <= NAMESPACES; i++) expect(run.stdout).toContain(`batch for ns${i}: 1 lines\n`);
    expect(run.stdout).toContain('status 0');
  });
});
