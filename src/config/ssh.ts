// How Ansible reaches a node (`ssh` on a node and in `defaults`): the address, port and user the inventory of
// `generate --ansible` gives it. Without one, the node's host address, and Ansible's own port and user.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { PathSegment } from './diagnostics.js';
import type { Config, NodeConfig } from './schema.js';
import { checkIpAddress } from './rules.js';
import { ipv4Of } from './families.js';
import { canonicalAddress, hostOf } from '../ip.js';

/** A DNS name: labels of letters, digits and "-" (not at either end), joined by dots; 253 characters in all. */
export const HOST_NAME_PATTERN = '^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
/** A login name as useradd takes it, less the "$" of machine accounts. */
export const SSH_USER_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,31}$';
/** Where ssh connects when no port is given. */
export const SSH_DEFAULT_PORT = 22;

/** Addresses that name no other machine on the LAN: ssh would reach the controller itself, or no one. */
const UNREACHABLE_RANGES: Record<string, string> = {
  unspecified: 'the unspecified address',
  loopback: 'a loopback address: Ansible would reach the controller itself',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
};

function checkSshAddress(value: string): string | undefined {
  const problem = checkIpAddress(value);
  if (problem !== undefined) return `${problem}, or a DNS name`;
  const range = ipaddr.parse(value).range();
  const reason = UNREACHABLE_RANGES[range];
  if (reason !== undefined) return `${JSON.stringify(value)} is ${reason}; give the node's address`;
  if (range === 'linkLocal' && value.includes(':')) return `${JSON.stringify(value)} is link-local: ssh would need the controller's interface (%zone) too; give a global address or a DNS name`;
  return undefined;
}

/** Written as an IP address (IPv6, or only digits and dots), not as a DNS name. */
const writtenAsAddress = (host: string): boolean => host.includes(':') || /^[0-9.]+$/.test(host);

/** The address or DNS name Ansible connects to; nothing in it can be read as YAML, Jinja, a shell word or an ssh option. */
export function checkSshHost(value: string): string | undefined {
  if (writtenAsAddress(value)) return checkSshAddress(value);
  if (value.toLowerCase() === 'localhost') return '"localhost" is the controller itself; give the node\'s address or DNS name';
  if (new RegExp(HOST_NAME_PATTERN).test(value)) return undefined;
  return `${JSON.stringify(value)} is not an IP address or DNS name; write an address like 10.0.0.9 or 2001:db8::9, or a name of letters, digits and "-" joined by dots, like node1.mgmt.example.com`;
}

export function checkSshUser(value: string): string | undefined {
  if (new RegExp(SSH_USER_PATTERN).test(value)) return undefined;
  return `${JSON.stringify(value)} is not a user name; use 1-32 letters, digits, "_", "." and "-", starting with a letter or "_"`;
}

const checked = (check: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const port = z.number().int().min(1).max(65535).meta({ description: `The SSH port (default ${SSH_DEFAULT_PORT}, or what the controller's ssh_config says).`, examples: [2222] });
const user = checked(checkSshUser).meta({ description: 'The user Ansible logs in as (default: the controller\'s, or what its ssh_config says).', pattern: SSH_USER_PATTERN, examples: ['deploy'] });

export const sshSchema = z
  .strictObject({
    host: checked(checkSshHost)
      .meta({
        description: 'The address or DNS name Ansible reaches the node at (a management address); without one, the node\'s IPv4 host address.',
        anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }, { pattern: HOST_NAME_PATTERN }],
        examples: ['10.255.0.9', 'node1.mgmt.example.com'],
      })
      .optional(),
    port: port.optional(),
    user: user.optional(),
  })
  .meta({ description: 'How `generate --ansible`\'s inventory reaches the node over SSH (ansible_host, ansible_port, ansible_user); port and user inherit the defaults\'. The scripts do not change.' });

export const defaultsSshSchema = z
  .strictObject({ port: port.optional(), user: user.optional() })
  .meta({ description: 'The SSH port and user of every node that sets none (each node\'s address is its own: `nodes.NODE.ssh.host`).' });

export type SshConfig = z.infer<typeof sshSchema>;

/** A node's SSH settings, the defaults' filled in; undefined when neither sets any. */
export function nodeSsh(config: Config, node: NodeConfig): SshConfig | undefined {
  const settings = { host: node.ssh?.host, port: node.ssh?.port ?? config.defaults?.ssh?.port, user: node.ssh?.user ?? config.defaults?.ssh?.user };
  const given = Object.entries(settings).filter(([, value]) => value !== undefined);
  return given.length === 0 ? undefined : (Object.fromEntries(given) as SshConfig);
}

/** The host in one spelling, so that two ways of writing it compare equal. */
const sshHostKey = (host: string): string => (writtenAsAddress(host) ? canonicalAddress(host) : host.toLowerCase());

export interface SshEndpoint {
  node: string;
  host: string;
  port?: number;
}

/** Pairs of nodes Ansible would reach at one address and port: it would run the later node's script on the earlier's machine. */
export function sharedEndpoints(endpoints: readonly SshEndpoint[]): { node: SshEndpoint; first: SshEndpoint }[] {
  const seen = new Map<string, SshEndpoint>();
  const shared: { node: SshEndpoint; first: SshEndpoint }[] = [];
  for (const endpoint of endpoints) {
    const key = `${sshHostKey(endpoint.host)} ${endpoint.port ?? SSH_DEFAULT_PORT}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, endpoint);
    else shared.push({ node: endpoint, first });
  }
  return shared;
}

export const describeSharedEndpoint = ({ node, first }: { node: SshEndpoint; first: SshEndpoint }): string =>
  `Ansible would reach node ${node.node} at ${node.host} port ${node.port ?? SSH_DEFAULT_PORT}, as it reaches node ${first.node}, and run ${node.node}'s script on that machine; give each node its own ssh host or port`;

/** Every node is reached at its own address and port (two nodes of one host address are refused as that already). */
export function checkSshEndpoints(config: Config): { path: PathSegment[]; message: string }[] {
  const endpoints = Object.entries(config.nodes).map(([name, node]): SshEndpoint => {
    const ssh = nodeSsh(config, node);
    return { node: name, host: ssh?.host ?? hostOf(ipv4Of(node.address)), ...(ssh?.port !== undefined && { port: ssh.port }) };
  });
  const configuredHost = (endpoint: SshEndpoint): boolean => config.nodes[endpoint.node]?.ssh?.host !== undefined;
  return sharedEndpoints(endpoints)
    .filter((clash) => configuredHost(clash.node) || configuredHost(clash.first))
    .map((clash) => ({ path: ['nodes', configuredHost(clash.node) ? clash.node.node : clash.first.node, 'ssh', 'host'], message: describeSharedEndpoint(clash) }));
}
