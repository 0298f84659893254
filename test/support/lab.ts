// Helpers for tests that drive emulated nodes directly.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateText, renderConfig } from '../../src/pipeline.js';
import { EmulatedLab } from '../../src/lab/emulated-lab.js';
import { labPaths, SWITCH } from '../../src/lab/commands.js';
import { runProcess } from '../../src/process.js';
import { answerTimes, longestSilence } from '../../src/lab/outages.js';
import type { Config } from '../../src/config/schema.js';
import { EXAMPLES } from './cli.js';

export const SEED_TEXT = readFileSync(path.join(EXAMPLES, 'seed.yaml'), 'utf8');
export const SEED_DUAL_STACK_TEXT = readFileSync(path.join(EXAMPLES, 'seed-dual-stack.yaml'), 'utf8');

export function configOf(text: string): Config {
  return validateText(text, 'test.yaml').config;
}

/** The seed config (or the dual-stack one) with more settings for node1's host shim (YAML lines, indented to sit under hostShim). */
export const withNode1Shim = (extra: string, seed = SEED_TEXT): Config => configOf(seed.replace('      interface: mac0\n', `      interface: mac0\n${extra}`));

/** Probes that give up after 3 s instead of 30 s, for tests of a migration that must revert. */
export const FAST_PROBES = { MACVLAN_GEN_PROBE_TIMEOUT: '3' };

/** Runs a bash command inside an emulated node and gives its output; a failure throws with its stderr. */
export async function shellIn(lab: EmulatedLab, node: string, command: string): Promise<string> {
  const result = await lab.runInNode(node, ['bash', '-c', command]);
  if (result.status !== 0) throw new Error(`${command} failed in ${node}: ${result.stderr}`);
  return result.stdout;
}

export async function pingFrom(lab: EmulatedLab, node: string, address: string): Promise<boolean> {
  return (await lab.runInNode(node, ['ping', '-n', '-q', '-c', '1', '-w', '3', address])).status === 0;
}

/** A lab built from `labConfig`, with scripts rendered from `scriptConfig` (the same unless a test wants a mismatch). */
export async function buildLab(labConfig: Config, scriptConfig: Config = labConfig): Promise<EmulatedLab> {
  const scripts = renderConfig(scriptConfig, 'test').scripts;
  return EmulatedLab.build(renderConfig(labConfig, 'test').plan, scripts);
}

/**
 * Everything `ip` says about an emulated node, in its own namespace and in every namespace it has:
 * `ip -d link`, `ip -d addr`, `ip route` and `ip netns list`, exactly as printed.
 */
export const NODE_STATE = [
  'for where in "" $(ip netns list | cut -d" " -f1); do',
  '  echo "== ${where:-node}"',
  '  run() { if [ -z "$where" ]; then ip "$@"; else ip -n "$where" "$@"; fi; }',
  '  run -d link show; run -d addr show; run route show table all',
  'done',
  'ip netns list',
].join('\n');

/**
 * The same, without what differs between two otherwise equal setups: interface indexes, kernel-chosen MACs and the
 * IPv6 link-local addresses made from them; lines sorted, since the kernel orders some by those addresses.
 */
export function normalizeState(state: string): string {
  return state
    .replace(/^\d+: /gm, '')
    .replace(/@if\d+/g, '@if')
    .replace(/link\/ether [0-9a-f:]+/g, 'link/ether MAC')
    .replace(/ \(id: \d+\)/g, '')
    .replace(/link-netnsid \d+/g, 'link-netnsid N')
    .replace(/fe80::[0-9a-f:]+(?=[/ ])/g, 'fe80::LL')
    .split('\n')
    .sort()
    .join('\n');
}

/**
 * A state with its countdowns blanked: route `expires` and address lifetimes tick every second (and the kernel can
 * leave a negative `expires` on a prefix route after a lifetime is lifted), which is time passing, not a change.
 */
export function withoutCountdowns(state: string): string {
  return state
    .replace(/ expires -?\d+sec/g, ' expires Nsec')
    .replace(/(valid|preferred)_lft \d+sec/g, '$1_lft Nsec');
}

/** The node's state once IPv6 duplicate address detection has settled (it changes addresses and routes). */
export async function nodeState(lab: EmulatedLab, node: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const result = await lab.runInNode(node, ['bash', '-c', NODE_STATE]);
    if (result.status !== 0) throw new Error(`reading the state of ${node} failed: ${result.stderr}`);
    if (!result.stdout.includes(' tentative') || attempt >= 50) return result.stdout;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The longest time a LAN neighbour goes without an answer from `address` while `action` runs: the neighbour pings
 * ten times a second from a second before until three seconds after, so its ARP (or, for an IPv6 address, neighbour
 * discovery) cache is warm as on a real LAN.
 */
export async function longestOutage(lab: EmulatedLab, neighbour: string, address: string, action: () => Promise<void>): Promise<number> {
  const output = `/run/${lab.prefix}/outage-${neighbour}-${address}.txt`;
  const pidFile = `${output}.pid`;
  const family = address.includes(':') ? '-6' : '-4';
  const pinging = lab.runInNode(neighbour, ['bash', '-c', 'ping "$4" -n -D -i 0.1 -W 0.2 -w 300 "$1" >"$2" 2>&1 & echo $! >"$3"; wait', 'outage', address, output, pidFile, family]);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(1000);
  try {
    await action();
    await sleep(3000);
  } finally {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()));
    await pinging;
  }
  const answers = answerTimes(readFileSync(output, 'utf8'));
  const [first] = answers;
  return first === undefined ? Number.POSITIVE_INFINITY : longestSilence(answers, first, Date.now() / 1000);
}

/** Runs commands in the lab's switch namespace; a failure throws with ip's message. */
export async function inSwitch(lab: EmulatedLab, commands: string[][]): Promise<void> {
  const sw = labPaths(lab.prefix).netns(SWITCH);
  for (const argv of commands) {
    const [tool = 'ip', ...rest] = argv;
    const result = await runProcess(tool, ['-n', sw, ...rest]);
    if (result.status !== 0) throw new Error(`${argv.join(' ')} in ${sw} failed: ${result.stderr}`);
  }
}

/** node's switch port passes only its parent's own MAC (and broadcast and multicast), as a VMware port group does. */
export async function passOnlyParentMac(lab: EmulatedLab, node: string): Promise<void> {
  const { port, parent } = lab.topology.nodes.find((n) => n.name === node) ?? {};
  if (port === undefined || parent === undefined) throw new Error(`no node ${node} in the lab`);
  const mac = (await shellIn(lab, node, `cat /sys/class/net/${parent}/address`)).trim();
  await inSwitch(lab, [
    ['ip', 'link', 'set', port, 'type', 'bridge_slave', 'learning', 'off', 'flood', 'off', 'fdb_flush'],
    ['bridge', 'fdb', 'replace', mac, 'dev', port, 'master', 'static'],
  ]);
}

