// generate --ansible and check, as an operator runs them, and Debian's Ansible reading what they wrote.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLES, runCli, tempDir } from '../support/cli.js';

const SEED = path.join(EXAMPLES, 'seed.yaml');
let cwd: string;
beforeEach(() => {
  cwd = tempDir('ansible');
});

/** An Ansible command with its home, temp and config in the test's folder, never ~/.ansible. */
function ansible(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const home = path.join(cwd, 'ansible-home');
  mkdirSync(path.join(home, 'tmp'), { recursive: true });
  const env = { PATH: process.env['PATH'], HOME: home, ANSIBLE_HOME: home, ANSIBLE_LOCAL_TEMP: path.join(home, 'tmp'), ANSIBLE_CONFIG: path.join(home, 'none.cfg') };
  const result = spawnSync(command, args, { cwd: path.join(cwd, 'out'), encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('macvlan-gen generate --ansible', () => {
  it('writes the inventory and playbooks beside the scripts, all in SHA256SUMS, and check finds them up to date', () => {
    const run = runCli(['generate', SEED, '--ansible'], cwd);
    expect(run).toEqual({ status: 0, stdout: 'wrote 7 files to out/: node1.sh, node2.sh, inventory.yml, rollout.yml, teardown.yml, SHA256SUMS, manifest.json\n', stderr: '' });
    expect(readdirSync(path.join(cwd, 'out')).sort()).toEqual(['SHA256SUMS', 'inventory.yml', 'manifest.json', 'node1.sh', 'node2.sh', 'rollout.yml', 'teardown.yml']);
    const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(cwd, 'out'), encoding: 'utf8' });
    expect(sums.status).toBe(0);
    expect(sums.stdout).toContain('inventory.yml: OK\nmanifest.json: OK\nnode1.sh: OK\nnode2.sh: OK\nrollout.yml: OK\nteardown.yml: OK\n');
    expect(runCli(['check', SEED], cwd)).toMatchObject({ status: 0, stdout: `out/ is up to date with ${SEED}\n` });
    expect(runCli(['check', SEED, '--ansible'], cwd).status).toBe(0);
  });

  it('check reports an edited playbook as drift, and asks for --ansible when the directory has no Ansible files', () => {
    runCli(['generate', SEED, '--ansible'], cwd);
    appendFileSync(path.join(cwd, 'out', 'rollout.yml'), '# mine\n');
    const check = runCli(['check', SEED], cwd);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('out/rollout.yml: stale; first difference at line');
    expect(check.stdout).toContain(`run: macvlan-gen generate ${SEED} --out-dir out --ansible\n`);

    runCli(['generate', SEED, '--out-dir', 'plain'], cwd);
    const plain = runCli(['check', SEED, '--out-dir', 'plain', '--ansible'], cwd);
    expect(plain.status).toBe(1);
    expect(plain.stdout).toContain('plain/inventory.yml: missing; the config generates it\n');
  });

  it('generate without --ansible removes the Ansible files it wrote, unless they were edited', () => {
    runCli(['generate', SEED, '--ansible'], cwd);
    appendFileSync(path.join(cwd, 'out', 'rollout.yml'), '# mine\n');
    const run = runCli(['generate', SEED], cwd);
    expect(run.stdout).toContain('removed files no longer generated: inventory.yml, teardown.yml\n');
    expect(run.stdout).toContain('left files no longer generated that differ from what macvlan-gen wrote: rollout.yml\n');
  });

  it('refuses a node named as Ansible names a group or the controller, and writes nothing', () => {
    spawnSync('bash', ['-c', `sed 's/^  node1:/  localhost:/' ${SEED} > local.yaml`], { cwd });
    const refused = runCli(['generate', 'local.yaml', '--ansible', '--out-dir', 'y'], cwd);
    expect(refused).toEqual({ status: 3, stdout: '', stderr: 'macvlan-gen: local.yaml: nodes.localhost: "localhost" means the controller to Ansible; rename the node to generate an inventory\n' });
    expect(readdirSync(cwd)).not.toContain('y');
  });
});

describe('where the inventory reaches the nodes: the config\'s ssh, and --ansible-host over it', () => {
  const SSH = path.join(EXAMPLES, 'ansible-ssh.yaml');

  it('Debian\'s ansible-inventory sees the address, port and user the config and the flag give; check wants the same flags', () => {
    const run = runCli(['generate', SSH, '--ansible', '--ansible-host', 'node2=10.255.0.10'], cwd);
    expect(run.status, run.stderr).toBe(0);
    const listed = ansible('ansible-inventory', ['-i', 'inventory.yml', '--list']);
    expect(listed.status, listed.stderr).toBe(0);
    const { hostvars } = (JSON.parse(listed.stdout) as { _meta: { hostvars: Record<string, unknown> } })._meta;
    expect(hostvars).toEqual({
      node1: { ansible_host: '10.255.0.9', ansible_port: 2222, ansible_user: 'deploy', macvlan_gen_dir: '/var/lib/macvlan-gen', macvlan_gen_script: 'node1.sh' },
      node2: { ansible_host: '10.255.0.10', ansible_port: 2222, ansible_user: 'admin', macvlan_gen_dir: '/var/lib/macvlan-gen', macvlan_gen_script: 'node2.sh' },
    });
    expect(runCli(['check', SSH, '--ansible-host', 'node2=10.255.0.10'], cwd)).toMatchObject({ status: 0, stdout: `out/ is up to date with ${SSH}\n` });

    const without = runCli(['check', SSH], cwd);
    expect(without.status).toBe(1);
    expect(without.stdout).toContain('    found:              ansible_host: 10.255.0.10 # --ansible-host\n');
    expect(without.stdout).toContain(`run: macvlan-gen generate ${SSH} --out-dir out --ansible\n`);
    const other = runCli(['check', SSH, '--ansible-host', 'node2=node2.oob.example.com'], cwd);
    expect(other.stdout).toContain(`run: macvlan-gen generate ${SSH} --out-dir out --ansible --ansible-host node2=node2.oob.example.com\n`);
  });

  it('a node the config lacks, a bad address or a node named twice is a usage error (exit 2), and nothing is written', () => {
    const cases: [string[], string][] = [
      [['--ansible-host', 'node3=10.9.9.9'], 'macvlan-gen: --ansible-host node3=10.9.9.9: the config has no node "node3"; did you mean "node1"?\n'],
      [['--ansible-host', 'node2=$(reboot)'], 'macvlan-gen: --ansible-host node2=$(reboot): "$(reboot)" is not an IP address or DNS name; write an address like 10.0.0.9 or 2001:db8::9, or a name of letters, digits and "-" joined by dots, like node1.mgmt.example.com\n'],
      [['--ansible-host', 'node2=10.255.0.9'], "macvlan-gen: --ansible-host: Ansible would reach node node2 at 10.255.0.9 port 2222, as it reaches node node1, and run node2's script on that machine; give each node its own ssh host or port\n"],
      [['--ansible-host', 'node2=a.example.com', '--ansible-host', 'node2=b.example.com'], 'macvlan-gen: --ansible-host names node node2 twice (a.example.com and b.example.com); give one address per node\n'],
      [['--ansible-host', 'node2'], 'macvlan-gen: --ansible-host "node2": write NODE=ADDRESS, like node1=10.255.0.9\n'],
      [['--ansible-host'], 'macvlan-gen: Not enough arguments following: ansible-host\n'],
    ];
    for (const [flags, message] of cases) {
      for (const command of ['generate', 'check']) {
        expect(runCli([command, SSH, '--ansible', ...flags, '--out-dir', 'y'], cwd), `${command} ${flags.join(' ')}`).toEqual({ status: 2, stdout: '', stderr: `${message}Run \`macvlan-gen --help\` for usage.\n` });
      }
    }
    expect(readdirSync(cwd)).not.toContain('y');
  });

  it('--ansible-host without the Ansible files is a usage error', () => {
    const message = 'macvlan-gen: --ansible-host sets an address in the Ansible inventory: give --ansible too\nRun `macvlan-gen --help` for usage.\n';
    expect(runCli(['generate', SSH, '--ansible-host', 'node2=10.255.0.10'], cwd)).toEqual({ status: 2, stdout: '', stderr: message });
    expect(readdirSync(cwd)).not.toContain('out');
    runCli(['generate', SSH], cwd);
    expect(runCli(['check', SSH, '--ansible-host', 'node2=10.255.0.10'], cwd)).toEqual({ status: 2, stdout: '', stderr: message });
  });
});

describe("Debian's Ansible reads the generated files", () => {
  it('ansible-inventory sees each node with its host address and script, and nothing templated', () => {
    runCli(['generate', path.join(EXAMPLES, 'three-nodes.yaml'), '--ansible'], cwd);
    const run = ansible('ansible-inventory', ['-i', 'inventory.yml', '--list']);
    expect(run.status, run.stderr).toBe(0);
    const listed = JSON.parse(run.stdout) as { _meta: { hostvars: Record<string, unknown> }; macvlan_gen_nodes: { hosts: string[] } };
    expect(listed.macvlan_gen_nodes.hosts).toEqual(['node-a', 'node-b', 'node-c']);
    expect(listed._meta.hostvars['node-b']).toEqual({ ansible_host: '10.20.0.12', macvlan_gen_dir: '/var/lib/macvlan-gen', macvlan_gen_script: 'node-b.sh' });
  });

  it.each(['rollout.yml', 'teardown.yml'])('ansible-playbook --syntax-check accepts %s', (playbook) => {
    runCli(['generate', SEED, '--ansible'], cwd);
    const run = ansible('ansible-playbook', ['-i', 'inventory.yml', playbook, '--syntax-check']);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });
});
