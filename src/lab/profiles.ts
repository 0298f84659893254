// Node profiles: what a distribution ships that changes how a node treats an address changing MAC, as the lab
// emulates it on an emulated node. Pure data, and the parsing of `lab --profile`.
import { UsageError } from '../errors.js';
import { ofFamily } from '../config/families.js';

export const PROFILE_NAMES = ['debian', 'rhel', 'ubuntu', 'dhcp'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const DEFAULT_PROFILE: ProfileName = 'debian';

/** A per-interface IPv4 setting, as under /proc/sys/net/ipv4/conf/<interface>/<key>. */
export interface ConfSetting {
  key: string;
  value: number;
}

export interface NodeProfile {
  name: ProfileName;
  /** One line for --help. */
  summary: string;
  /** Set on all, default and the parent before the parent gets its address, as the distribution's sysctl.d does at boot. */
  conf: ConfSetting[];
  /** The host address is a DHCP lease kept by dhclient (from the lab gateway's dnsmasq), not a static address. */
  dhcp: boolean;
  /** Programs the machine running the lab needs for this profile, with the Debian package that has each. */
  tools: { tool: string; debianPackage: string }[];
}

export const PROFILES: Record<ProfileName, NodeProfile> = {
  debian: { name: 'debian', summary: 'kernel defaults: rp_filter=0', conf: [], dhcp: false, tools: [] },
  rhel: {
    name: 'rhel',
    summary: 'rp_filter=1 and promote_secondaries=1 on all, default and the parent, as RHEL, Rocky, Alma and CentOS 7 ship',
    conf: [
      { key: 'rp_filter', value: 1 },
      { key: 'promote_secondaries', value: 1 },
    ],
    dhcp: false,
    tools: [],
  },
  ubuntu: { name: 'ubuntu', summary: 'rp_filter=2 on all, default and the parent, as Ubuntu ships', conf: [{ key: 'rp_filter', value: 2 }], dhcp: false, tools: [] },
  dhcp: {
    name: 'dhcp',
    summary: 'debian, with the host address a DHCP lease: dhclient on the parent, dnsmasq on the lab gateway',
    conf: [],
    dhcp: true,
    tools: [
      { tool: 'dnsmasq', debianPackage: 'dnsmasq-base' },
      { tool: 'dhclient', debianPackage: 'isc-dhcp-client' },
    ],
  },
};

/** The files to write, in the emulated node's network namespace, for a profile's settings. */
export function profileSysctls(profile: ProfileName, parent: string): { path: string; value: number }[] {
  return PROFILES[profile].conf.flatMap(({ key, value }) =>
    ['all', 'default', parent].map((where) => ({ path: `/proc/sys/net/ipv4/conf/${where}/${key}`, value })),
  );
}

const isProfileName = (name: string): name is ProfileName => (PROFILE_NAMES as readonly string[]).includes(name);

const allowedProfiles = (): string => `the profiles are ${PROFILE_NAMES.join(', ')}`;

/**
 * Each node's profile from `--profile` values: NAME sets every node, NODE=NAME one node (it wins over NAME);
 * nodes left out get the default. Throws a UsageError naming what is allowed.
 */
export function resolveProfiles(values: string[], nodes: Record<string, { gateway?: string | readonly string[] | undefined }>): Record<string, ProfileName> {
  const nodeNames = Object.keys(nodes);
  let everyNode: ProfileName | undefined;
  const perNode = new Map<string, ProfileName>();
  for (const value of values) {
    const [node, name] = value.includes('=') ? [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)] : [undefined, value];
    const shown = `--profile ${JSON.stringify(value)}`;
    if (!isProfileName(name)) throw new UsageError(`${shown}: no profile ${JSON.stringify(name)}; ${allowedProfiles()}`);
    if (node === undefined) {
      if (everyNode !== undefined && everyNode !== name) {
        throw new UsageError(`${shown}: every node already has profile ${everyNode}; give one NAME for all nodes and NODE=NAME for the others`);
      }
      everyNode = name;
      continue;
    }
    if (!nodeNames.includes(node)) throw new UsageError(`${shown}: no node ${JSON.stringify(node)} in the config; its nodes are ${nodeNames.join(', ')}`);
    const earlier = perNode.get(node);
    if (earlier !== undefined && earlier !== name) throw new UsageError(`${shown}: ${node} already has profile ${earlier}; give each node one profile`);
    perNode.set(node, name);
  }
  const profiles = Object.fromEntries(nodeNames.map((node) => [node, perNode.get(node) ?? everyNode ?? DEFAULT_PROFILE]));
  // The lab's DHCP server answers from the gateway router, which has an address on the node's subnet only as its gateway.
  const withoutGateway = nodeNames.filter((node) => PROFILES[profiles[node] ?? DEFAULT_PROFILE].dhcp && ofFamily(nodes[node]?.gateway, 4) === undefined);
  if (withoutGateway.length > 0) {
    throw new UsageError(`profile dhcp needs a gateway (the lab's DHCP server answers from it), and ${withoutGateway.join(', ')} ${withoutGateway.length === 1 ? 'has' : 'have'} none; give it a gateway or another profile`);
  }
  return profiles;
}

/** The --help text of `lab --profile`: every profile and what it sets. */
export function profileHelp(): string {
  const described = PROFILE_NAMES.map((name) => `${name} (${PROFILES[name].summary})`);
  const list = `${described.slice(0, -1).join(', ')} or ${described.at(-1) ?? ''}`;
  return `emulate every node as NAME, or one node as NODE=NAME (repeatable; NODE=NAME wins over NAME; default ${DEFAULT_PROFILE}). NAME is ${list}`;
}
