// A fleet on an emulated LAN for the Ansible rollout: Debian's sshd in each emulated node (its own host key and
// sshd_config, listening on the node's host address) and Ansible run from the lab's LAN neighbour namespace. Keys,
// known_hosts, Ansible's home and temp dirs all live under the lab's /run/<prefix>/fleet: the real ~/.ssh and
// ~/.ansible are never read or written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inNode, labPaths, WATCHER } from '../../src/lab/commands.js';
import type { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { runProcess, startProcess, type ProcessResult, type StartedProcess } from '../../src/process.js';

const SSHD = '/usr/sbin/sshd';

export interface Fleet {
  dir: string;
  /** Runs ansible-playbook from the controller (the lab's LAN neighbour), in `outDir`, with the lab's keys and paths. */
  playbook: (outDir: string, args: string[], env?: Record<string, string>) => Promise<ProcessResult>;
  /** The pid of a node's sshd listener. */
  listenerPid: (node: string) => number;
  /** Where the playbooks keep a node's script on the node (its own tree under the lab dir: nodes share the host's /var). */
  scriptDir: (node: string) => string;
  /** The extra vars that put each node's script in scriptDir and what `install` writes in its own tree (fsRoot), for -e. */
  scriptDirVars: string;
  /** Ends a node's sshd listener (by its pid): sessions open on it go on, new connections are refused. */
  stopListening: (node: string) => Promise<void>;
  stop: () => Promise<void>;
}

async function run(command: string, args: string[]): Promise<string> {
  const result = await runProcess(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const keygen = (file: string, comment: string): Promise<string> => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);

/**
 * Starts an sshd in every node of the lab; `env` is what each session gets (the lab's run dir of the node, faster
 * probes). The `chatty` nodes greet every session with a line on stdout and one on stderr, then echo the command on
 * stderr (as a dotfile's `set -v` would) before it runs, as a node whose login prints a banner or whose dotfiles
 * complain does: a `raw` task sees all three in its output.
 */
export async function startFleet(lab: EmulatedLab, env: Record<string, string> = {}, chatty: string[] = []): Promise<Fleet> {
  const paths = labPaths(lab.prefix);
  const dir = path.join(paths.dir, 'fleet');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const controllerKey = path.join(dir, 'controller_key');
  await keygen(controllerKey, `controller@${lab.prefix}`);
  writeFileSync(path.join(dir, 'authorized_keys'), await run('cat', [`${controllerKey}.pub`]), { mode: 0o600 });
  // sshd's privilege separation directory: compiled in, on the host's /run, which the emulated nodes share.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const daemons = new Map<string, StartedProcess>();
  const knownHosts: string[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...daemons.values()].map((daemon) => daemon.stop('SIGTERM')));
  };
  try {
    for (const node of lab.topology.nodes) {
      const nodeDir = path.join(dir, node.name);
      mkdirSync(nodeDir, { recursive: true, mode: 0o700 });
      const hostKey = path.join(nodeDir, 'ssh_host_ed25519_key');
      await keygen(hostKey, node.name);
      const address = node.hostAddress.split('/')[0] ?? '';
      knownHosts.push(`${address} ${(await run('cat', [`${hostKey}.pub`])).trim()}`);
      const config = path.join(nodeDir, 'sshd_config');
      writeFileSync(
        config,
        [
          `ListenAddress ${address}:22`,
          `HostKey ${hostKey}`,
          `PidFile ${path.join(nodeDir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'LogLevel VERBOSE',
          // One line: sshd takes the first SetEnv only.
          `SetEnv ${Object.entries({ MACVLAN_GEN_RUN_DIR: paths.runDir(node.name), ...env }).map(([key, value]) => `${key}=${value}`).join(' ')}`,
          ...(chatty.includes(node.name)
            ? [`ForceCommand echo 'Welcome to ${node.name} (a login banner)'; echo '${node.name}: a dotfile complains' >&2; echo "$SSH_ORIGINAL_COMMAND" >&2; eval "$SSH_ORIGINAL_COMMAND"`]
            : []),
          '',
        ].join('\n'),
      );
      const [command = 'nsenter', ...args] = inNode(lab.prefix, node.name, [SSHD, '-D', '-e', '-f', config, '-E', path.join(nodeDir, 'sshd.log')]);
      daemons.set(node.name, startProcess(command, args));
    }
    writeFileSync(path.join(dir, 'known_hosts'), `${knownHosts.join('\n')}\n`);
    const ansibleHome = path.join(dir, 'ansible');
    mkdirSync(path.join(ansibleHome, 'tmp'), { recursive: true });
    mkdirSync(path.join(ansibleHome, 'cp'), { recursive: true });
    writeFileSync(path.join(ansibleHome, 'ansible.cfg'), '[defaults]\nretry_files_enabled = False\n');
    const ansibleEnv: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: ansibleHome,
      ANSIBLE_CONFIG: path.join(ansibleHome, 'ansible.cfg'),
      ANSIBLE_HOME: ansibleHome,
      ANSIBLE_LOCAL_TEMP: path.join(ansibleHome, 'tmp'),
      ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(ansibleHome, 'cp'),
      ANSIBLE_PRIVATE_KEY_FILE: controllerKey,
      ANSIBLE_REMOTE_USER: 'root',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_SSH_ARGS: [
        '-F /dev/null',
        `-o UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
        '-o GlobalKnownHostsFile=/dev/null',
        '-o StrictHostKeyChecking=yes',
        '-o IdentitiesOnly=yes',
        '-o ControlMaster=auto',
        '-o ControlPersist=60s',
      ].join(' '),
    };
    const controller = `--net=/run/netns/${paths.netns(WATCHER)}`;
    // Every sshd listens before the first playbook connects.
    for (const node of lab.topology.nodes) {
      const listening = async (): Promise<boolean> =>
        (await runProcess('nsenter', [`--net=/run/netns/${paths.netns(`node-${node.name}`)}`, 'ss', '-Hltn', 'sport = :22'])).stdout.includes(':22');
      for (let attempt = 0; attempt < 100 && !(await listening()); attempt++) await sleep(50);
      if (!(await listening())) throw new Error(`sshd on ${node.name} does not listen`);
    }
    return {
      dir,
      playbook: (outDir, args, env = {}) =>
        runProcess('nsenter', [controller, 'bash', '-c', 'cd "$1" && shift && exec ansible-playbook "$@"', 'controller', outDir, ...args], { ...ansibleEnv, ...env }),
      listenerPid: (node) => Number(readFileSync(path.join(dir, node, 'sshd.pid'), 'utf8').trim()),
      scriptDir: (node) => path.join(paths.fsRoot(node), 'var/lib/macvlan-gen'),
      scriptDirVars: JSON.stringify({
        macvlan_gen_dir: path.join(paths.fsRoot('NODE'), 'var/lib/macvlan-gen').replace('NODE', '{{ inventory_hostname }}'),
        macvlan_gen_install_root: paths.fsRoot('NODE').replace('NODE', '{{ inventory_hostname }}'),
      }),
      stopListening: async (node) => {
        await daemons.get(node)?.stop('SIGTERM');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
