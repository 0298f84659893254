// The shell text that builds, probes and removes a lab. Pure: every value goes through shq.
// Nothing here touches the root namespace's links, addresses or routes: veth pairs are made inside lab namespaces.
import { shq } from '../render/shq.js';
import { familyOf, hostOf, netmaskOf, networkOf, type Family } from '../ip.js';
import { PROFILES, profileSysctls } from './profiles.js';
import type { Endpoint, LabNode, Topology } from './topology.js';

export const LAB_PREFIX = 'mvlab';

const line = (...words: (string | number)[]): string => words.map(shq).join(' ');

/**
 * Adds an address the lab itself owns (gateway router, outside client, LAN neighbour): an IPv6 one without duplicate
 * address detection, so that no probe races it.
 */
const labAddress = (ns: string, cidr: string, dev: string): string =>
  line('ip', '-n', ns, 'addr', 'add', cidr, 'dev', dev, ...(familyOf(cidr) === 6 ? ['nodad'] : []));

export interface LabPaths {
  /** /run/<prefix>: a private bind mount that pins each node's mount and UTS namespace. */
  dir: string;
  netns: (role: string) => string;
  mountPin: (node: string) => string;
  utsPin: (node: string) => string;
  script: (node: string) => string;
  runDir: (node: string) => string;
  /** A file system tree of the node's own, for `node.sh install --root`: the real /etc is never written. */
  fsRoot: (node: string) => string;
  /** Where the node's writes to /etc land (the upper layer of an overlay on the real /etc, and its work directory). */
  etcLayers: (node: string) => string;
  /** The DHCP server's and clients' config, lease, pid and log files. */
  dhcpDir: string;
}

export function labPaths(prefix: string): LabPaths {
  if (!new RegExp(`^${LAB_PREFIX}-[a-z0-9]+$`).test(prefix)) throw new Error(`not a lab prefix: ${prefix}`);
  const dir = `/run/${prefix}`;
  return {
    dir,
    netns: (role) => `${prefix}-${role}`,
    mountPin: (node) => `${dir}/${node}.mnt`,
    utsPin: (node) => `${dir}/${node}.uts`,
    script: (node) => `${dir}/scripts/${node}.sh`,
    runDir: (node) => `${dir}/run/${node}`,
    fsRoot: (node) => `${dir}/fs/${node}`,
    etcLayers: (node) => `${dir}/etc/${node}`,
    dhcpDir: `${dir}/dhcp`,
  };
}

const nodeRole = (node: string): string => `node-${node}`;
export const SWITCH = 'lan';
export const GATEWAY = 'gw';
export const CLIENT = 'client';
export const WATCHER = 'watch';

// Inside a node's fresh mount namespace: its own hostname, an empty /run/netns (so `ip netns add ns1` on two nodes
// makes two namespaces, neither visible to the real host), a /sys that shows the node's own interfaces, an /etc
// whose writes (a namespace's /etc/netns/NS/resolv.conf) land in the lab's overlay layer ($2), never in the real /etc,
// and none of the real host's service managers under /run: on a host with systemd the script would otherwise start its
// migration guard with systemd-run, which runs it in the real host's namespaces (measured in a Debian 12 VM), and
// take the state networkd or NetworkManager keeps for the host's link of the same index for its parent's.
const PRIVATE_NODE_VIEW =
  'printf %s "$1" > /proc/sys/kernel/hostname && { umount -l /run/netns 2>/dev/null || true; } && mkdir -p /run/netns && ' +
  'mount -t tmpfs -o mode=0755 mvlab-netns /run/netns && mount --make-shared /run/netns && umount -l /sys && mount -t sysfs sysfs /sys && ' +
  'mkdir -p "$2/upper" "$2/work" && mount -t overlay mvlab-etc -o "lowerdir=/etc,upperdir=$2/upper,workdir=$2/work" /etc && ' +
  'for dir in /run/systemd /run/dbus /run/NetworkManager; do if [ -d "$dir" ]; then mount -t tmpfs -o mode=0755 mvlab-hidden "$dir" || exit 1; fi; done';

// dhclient-script runs the host's hooks (timesyncd's writes under the host's /run): a DHCP node gets none of its own.
// It leaves /etc/resolv.conf alone because the lab's DHCP server offers no DNS (port=0).
const NO_DHCLIENT_HOOKS =
  'for dir in /etc/dhcp/dhclient-enter-hooks.d /etc/dhcp/dhclient-exit-hooks.d; do if [ -d "$dir" ]; then mount -t tmpfs "$1" "$dir"; fi; done && ' +
  'for file in /etc/dhcp/dhclient-enter-hooks /etc/dhcp/dhclient-exit-hooks; do if [ -e "$file" ]; then mount --bind /dev/null "$file"; fi; done';

/** dnsmasq on the gateway router: DHCP only, each DHCP node's host address reserved for its parent's MAC. */
export function dnsmasqConfig(topology: Topology): string[] {
  const { dhcpDir } = labPaths(topology.prefix);
  const dhcpNodes = topology.nodes.filter((node) => PROFILES[node.profile].dhcp);
  return [
    'port=0',
    'no-hosts',
    'no-resolv',
    'interface=lan0',
    'bind-interfaces',
    'dhcp-authoritative',
    `dhcp-leasefile=${dhcpDir}/dnsmasq.leases`,
    `pid-file=${dhcpDir}/dnsmasq.pid`,
    `log-facility=${dhcpDir}/dnsmasq.log`,
    ...[...new Set(dhcpNodes.map((node) => networkOf(node.hostAddress)))].map((subnet) => `dhcp-range=${hostOf(subnet)},static,${netmaskOf(subnet)},1h`),
    ...dhcpNodes.flatMap((node) => (node.gateway === undefined ? [] : [`dhcp-option=tag:${node.name},option:router,${node.gateway}`])),
  ];
}

const DHCP_LEASE_WAIT_SECONDS = 15;

/** Serves and takes each DHCP node's lease: dnsmasq on the gateway, dhclient on the node's parent, then waits for it. */
function dhcpLines(topology: Topology): string[] {
  const paths = labPaths(topology.prefix);
  const dhcpNodes = topology.nodes.filter((node) => PROFILES[node.profile].dhcp);
  if (dhcpNodes.length === 0) return [];
  const conf = `${paths.dhcpDir}/dnsmasq.conf`;
  const dhcpFile = (node: LabNode, suffix: string): string => `${paths.dhcpDir}/${node.name}.dhclient.${suffix}`;
  return [
    line('mkdir', '-p', paths.dhcpDir),
    `printf '%s\\n' ${dnsmasqConfig(topology).map(shq).join(' ')} > ${shq(conf)}`,
    // The reservation names the parent's MAC, which the kernel chose when it made the veth pair.
    ...dhcpNodes.map(
      (node) =>
        `mac=$(${line('ip', '-n', paths.netns(nodeRole(node.name)), '-o', 'link', 'show', 'dev', node.parent)}) && mac=\${mac##*link/ether } && ` +
        `printf 'dhcp-host=%s,set:%s,%s\\n' "\${mac%% *}" ${shq(node.name)} ${shq(hostOf(node.hostAddress))} >> ${shq(conf)}`,
    ),
    `${line('nsenter', `--net=/run/netns/${paths.netns(GATEWAY)}`, 'dnsmasq', `--conf-file=${conf}`)} </dev/null >/dev/null 2>&1`,
    ...dhcpNodes.map(
      (node) =>
        `${inNode(topology.prefix, node.name, ['dhclient', '-4', '-nw', '-v', '-lf', dhcpFile(node, 'leases'), '-pf', dhcpFile(node, 'pid'), node.parent]).map(shq).join(' ')} ` +
        `</dev/null >${shq(dhcpFile(node, 'log'))} 2>&1`,
    ),
    ...dhcpNodes.map((node) => {
      const leased = `${line('ip', '-n', paths.netns(nodeRole(node.name)), '-o', '-4', 'addr', 'show', 'dev', node.parent)} | grep -q -- ${shq(`inet ${node.hostAddress} .* dynamic`)}`;
      const fail = `no DHCP lease of ${node.hostAddress} on ${node.name}'s ${node.parent} within ${DHCP_LEASE_WAIT_SECONDS} s (see ${paths.dhcpDir})`;
      return `for _ in $(seq ${DHCP_LEASE_WAIT_SECONDS * 10}); do ${leased} && break; sleep 0.1; done; ${leased} || { echo ${shq(fail)} >&2; exit 1; }`;
    }),
  ];
}

/** The VLAN the switch gives untagged frames: the lowest id the config does not use, so that a tagged VLAN 1 stays tagged. */
export function nativeVlan(topology: Topology): number {
  const used = new Set((topology.vlans ?? []).map((vlan) => vlan.id));
  let id = 1;
  while (used.has(id)) id++;
  return id;
}

const NO_VLAN_SUPPORT =
  "the kernel cannot make 802.1Q VLAN devices or filter VLANs on a bridge (CONFIG_VLAN_8021Q, CONFIG_BRIDGE_VLAN_FILTERING; try: modprobe 8021q): the lab cannot emulate the config's VLANs";
const orNoVlans = (command: string): string => `${command} || { echo ${shq(NO_VLAN_SUPPORT)} >&2; exit 1; }`;

/** A switch port becomes a trunk: every VLAN of the config tagged, and the native VLAN untagged (the bridge's default). */
const trunkLines = (topology: Topology, port: string): string[] =>
  (topology.vlans ?? []).map((vlan) => line('bridge', '-n', labPaths(topology.prefix).netns(SWITCH), 'vlan', 'add', 'dev', port, 'vid', vlan.id));

/** The gateway router's sub-interface in each VLAN (lan0.50), with the VLAN's gateway addresses of the config. */
function gatewayVlanLines(topology: Topology): string[] {
  const gw = labPaths(topology.prefix).netns(GATEWAY);
  return (topology.vlans ?? []).flatMap((vlan) => {
    const dev = `lan0.${vlan.id}`;
    return [
      orNoVlans(line('ip', '-n', gw, 'link', 'add', 'link', 'lan0', 'name', dev, 'type', 'vlan', 'id', vlan.id)),
      ...vlan.gatewayAddresses.map((cidr) => labAddress(gw, cidr, dev)),
      line('ip', '-n', gw, 'link', 'set', dev, 'up'),
    ];
  });
}

/**
 * The LAN without its nodes: the switch (a bridge in a namespace of its own), the gateway router with the outside
 * client behind it, and the LAN neighbour that watches. Emulated nodes plug into it (setupScript), and so do the
 * test bench's virtual machines, whose taps qemu makes inside the switch namespace.
 */
export function lanSetupLines(topology: Topology): string[] {
  const paths = labPaths(topology.prefix);
  const sw = paths.netns(SWITCH);
  const gw = paths.netns(GATEWAY);
  const client = paths.netns(CLIENT);
  const watcher = paths.netns(WATCHER);
  const { outside6 } = topology;
  return [
    'set -o errexit -o nounset -o pipefail',
    line('mkdir', '-p', paths.dir),
    line('mount', '--bind', paths.dir, paths.dir),
    line('mount', '--make-private', paths.dir),
    line('mkdir', '-p', `${paths.dir}/scripts`, `${paths.dir}/run`),
    ...[sw, gw, client, watcher].map((ns) => line('ip', 'netns', 'add', ns)),
    topology.vlans === undefined
      ? line('ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
      : orNoVlans(line('ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', 1, 'vlan_default_pvid', nativeVlan(topology))),
    line('ip', '-n', sw, 'link', 'set', 'br0', 'up'),
    line('ip', '-n', sw, 'link', 'add', 'pgw', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', gw),
    line('ip', '-n', sw, 'link', 'set', 'pgw', 'master', 'br0', 'up'),
    ...trunkLines(topology, 'pgw'),
    ...topology.gatewayLanAddresses.map((cidr) => labAddress(gw, cidr, 'lan0')),
    line('ip', '-n', gw, 'link', 'add', 'out0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client),
    line('ip', '-n', gw, 'addr', 'add', topology.outside.gatewayAddress, 'dev', 'out0'),
    ...(outside6 ? [labAddress(gw, outside6.gatewayAddress, 'out0')] : []),
    ...['lo', 'lan0', 'out0'].map((dev) => line('ip', '-n', gw, 'link', 'set', dev, 'up')),
    ...gatewayVlanLines(topology),
    line('nsenter', `--net=/run/netns/${gw}`, 'bash', '-c', 'printf 1 > /proc/sys/net/ipv4/ip_forward'),
    ...(outside6 ? [line('nsenter', `--net=/run/netns/${gw}`, 'bash', '-c', 'printf 1 > /proc/sys/net/ipv6/conf/all/forwarding')] : []),
    line('ip', '-n', client, 'addr', 'add', topology.outside.clientAddress, 'dev', 'eth0'),
    ...(outside6 ? [labAddress(client, outside6.clientAddress, 'eth0')] : []),
    ...['lo', 'eth0'].map((dev) => line('ip', '-n', client, 'link', 'set', dev, 'up')),
    line('ip', '-n', client, 'route', 'add', 'default', 'via', hostOf(topology.outside.gatewayAddress)),
    ...(outside6 ? [line('ip', '-n', client, '-6', 'route', 'add', 'default', 'via', hostOf(outside6.gatewayAddress))] : []),
    line('ip', '-n', sw, 'link', 'add', 'pw', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', watcher),
    line('ip', '-n', sw, 'link', 'set', 'pw', 'master', 'br0', 'up'),
    ...(topology.watcher?.addresses ?? []).map((cidr) => labAddress(watcher, cidr, 'eth0')),
    ...['lo', 'eth0'].map((dev) => line('ip', '-n', watcher, 'link', 'set', dev, 'up')),
  ];
}

const DAD_WAIT_SECONDS = 10;

/**
 * Waits until each node's IPv6 host address has passed duplicate address detection, as a running node's has: the
 * lab adds it like any static address (not `nodad`), so the scripts meet the flags a real one carries.
 */
function settledHostAddresses(topology: Topology): string[] {
  const paths = labPaths(topology.prefix);
  return topology.nodes.flatMap((node) => {
    if (node.hostAddress6 === undefined) return [];
    // A test of the output, not `| grep -q`: under pipefail, grep quitting early can fail the pipeline.
    const settled = `[ -z "$(${line('ip', '-n', paths.netns(nodeRole(node.name)), '-6', 'addr', 'show', 'dev', node.parent, 'tentative')})" ]`;
    const fail = `${node.name}'s ${node.hostAddress6} on ${node.parent} still tentative after ${DAD_WAIT_SECONDS} s (duplicate address detection)`;
    return [`for _ in $(seq ${DAD_WAIT_SECONDS * 10}); do ${settled} && break; sleep 0.1; done; ${settled} || { echo ${shq(fail)} >&2; exit 1; }`];
  });
}

/** Builds the lab; runs under `set -e`, so the first failure stops it (and the caller cleans up). */
export function setupScript(topology: Topology): string {
  const paths = labPaths(topology.prefix);
  const sw = paths.netns(SWITCH);
  const lines = [...lanSetupLines(topology), ...topology.nodes.map((node) => line('ip', 'netns', 'add', paths.netns(nodeRole(node.name))))];
  for (const node of topology.nodes) {
    const ns = paths.netns(nodeRole(node.name));
    const { dhcp } = PROFILES[node.profile];
    lines.push(
      line('ip', '-n', sw, 'link', 'add', node.port, 'mtu', node.mtu, 'type', 'veth', 'peer', 'name', node.parent, 'mtu', node.mtu, 'netns', ns),
      line('ip', '-n', sw, 'link', 'set', node.port, 'master', 'br0', 'up'),
      ...trunkLines(topology, node.port),
      ...['lo', node.parent].map((dev) => line('ip', '-n', ns, 'link', 'set', dev, 'up')),
      ...profileSysctls(node.profile, node.parent).map(({ path, value }) =>
        line('nsenter', `--net=/run/netns/${ns}`, 'bash', '-c', 'printf %s "$1" > "$2"', 'sysctl', value, path),
      ),
      ...(dhcp
        ? []
        : [
            line('ip', '-n', ns, 'addr', 'add', node.hostAddress, 'dev', node.parent),
            ...(node.gateway === undefined ? [] : [line('ip', '-n', ns, 'route', 'add', 'default', 'via', node.gateway, 'dev', node.parent)]),
          ]),
      // The IPv6 host address is static on every profile (the DHCP profile leases IPv4 only).
      ...(node.hostAddress6 === undefined ? [] : [line('ip', '-n', ns, 'addr', 'add', node.hostAddress6, 'dev', node.parent)]),
      ...(node.gateway6 === undefined ? [] : [line('ip', '-n', ns, '-6', 'route', 'add', 'default', 'via', node.gateway6, 'dev', node.parent)]),
      line('touch', paths.mountPin(node.name), paths.utsPin(node.name)),
      line('mkdir', '-p', paths.runDir(node.name)),
      line('nsenter', `--net=/run/netns/${ns}`, 'unshare', `--mount=${paths.mountPin(node.name)}`, `--uts=${paths.utsPin(node.name)}`,
        '--propagation', 'private', 'bash', '-c', PRIVATE_NODE_VIEW, 'node-view', node.name, paths.etcLayers(node.name)),
      ...(dhcp ? [inNode(topology.prefix, node.name, ['bash', '-c', NO_DHCLIENT_HOOKS, 'no-hooks', `${topology.prefix}-dhcp-hooks`]).map(shq).join(' ')] : []),
    );
  }
  lines.push(...dhcpLines(topology), ...settledHostAddresses(topology));
  return `${lines.join('\n')}\n`;
}

/** The command line that runs `argv` inside an emulated node: its mount, UTS and network namespaces. */
export function inNode(prefix: string, node: string, argv: string[]): string[] {
  const paths = labPaths(prefix);
  return ['nsenter', `--mount=${paths.mountPin(node)}`, `--uts=${paths.utsPin(node)}`, `--net=/run/netns/${paths.netns(nodeRole(node))}`, ...argv];
}

function probeWrapper(prefix: string, endpoint: Endpoint): string[] {
  const paths = labPaths(prefix);
  if (endpoint.kind === 'gateway' || endpoint.kind === 'vlan-gateway') return ['nsenter', `--net=/run/netns/${paths.netns(GATEWAY)}`];
  if (endpoint.kind === 'client') return ['nsenter', `--net=/run/netns/${paths.netns(CLIENT)}`];
  if (endpoint.kind === 'watcher') return ['nsenter', `--net=/run/netns/${paths.netns(WATCHER)}`];
  const node = endpoint.node ?? '';
  if (endpoint.kind === 'host') return ['nsenter', `--net=/run/netns/${paths.netns(nodeRole(node))}`];
  return inNode(prefix, node, ['ip', 'netns', 'exec', endpoint.netns ?? '']);
}

export const PING_DEADLINE_SECONDS = 2;

export const PINGS_AT_ONCE = 32;

/** `ping` of one family: IPv4 as ping defaults to it, IPv6 said with -6. */
const pingOf = (family: Family): string[] => (family === 6 ? ['ping', '-6'] : ['ping']);

/**
 * One process per source endpoint pings its targets of one family, a bounded number at a time (a burst of ARP or
 * neighbour solicitations would overflow macvlan's broadcast queue), and prints "<ip> ok" or "<ip> no" per target.
 * With `flushAfter` it empties its neighbour cache at the end: the caller knows when the lab would overflow the
 * kernel's shared table.
 */
export function probeCommand(prefix: string, from: Endpoint, targets: string[], flushAfter: boolean, family: Family = 4): string[] {
  return [...probeWrapper(prefix, from), 'bash', '-c', pingAllScript(flushAfter, family), 'probe', ...targets];
}

/** The bash text of a probe: pings its arguments (of one family) and prints "<ip> ok" or "<ip> no" for each. */
export function pingAllScript(flushAfter: boolean, family: Family = 4): string {
  return [
    'for ip in "$@"; do',
    `  while (( $(jobs -rp | wc -l) >= ${PINGS_AT_ONCE} )); do wait -n; done`,
    `  { if ${pingOf(family).join(' ')} -n -q -c 1 -i 0.2 -w ${PING_DEADLINE_SECONDS} "$ip" >/dev/null 2>&1; then echo "$ip ok"; else echo "$ip no"; fi; } &`,
    'done',
    'wait',
    ...(flushAfter ? ['ip neigh flush all'] : []),
  ].join('\n');
}

export const WATCH_INTERVAL_SECONDS = 0.1;

/** A safety bound only: the lab ends each watching ping by its pid when the stage is over. */
const WATCH_DEADLINE_SECONDS = 3600;

/** The watcher pings one endpoint's address without end, each answer and each miss timestamped (-D, -O). */
export function watchCommand(prefix: string, watcher: Endpoint, target: string): string[] {
  return [...probeWrapper(prefix, watcher), ...pingOf(familyOf(target)), '-n', '-D', '-O', '-i', String(WATCH_INTERVAL_SECONDS), '-w', String(WATCH_DEADLINE_SECONDS), target];
}

/** Empties the neighbour (ARP) cache of every namespace of the lab, inside the emulated nodes too. */
export function neighbourFlushScript(topology: Topology): string {
  const paths = labPaths(topology.prefix);
  const flushAll = 'ip neigh flush all; for ns in $(ip netns list | cut -d" " -f1); do ip -n "$ns" neigh flush all; done';
  return [
    ...[GATEWAY, CLIENT].map((role) => line('ip', '-n', paths.netns(role), 'neigh', 'flush', 'all')),
    ...topology.nodes.map((node) => inNode(topology.prefix, node.name, ['bash', '-c', flushAll]).map(shq).join(' ')),
  ].join('\n');
}

/**
 * Removes a lab, whatever state it is in: ends by pid every process inside the lab's namespaces (and inside the
 * namespaces the node scripts made), releases the pinned node views, deletes the lab namespaces, unmounts the pin dir.
 */
export function cleanupScript(prefix: string): string {
  const { dir } = labPaths(prefix);
  // The prefix is ours (checked in labPaths), so the globs below need no quoting.
  return `shopt -s nullglob
declare -A lab_namespace=()
for pin in ${dir}/*.mnt; do
  lab_namespace["mnt:$(stat -L -c %i "$pin" 2>/dev/null)"]=1
  while read -r inode; do lab_namespace["net:$inode"]=1; done < <(nsenter --mount="$pin" bash -c 'shopt -s nullglob; for f in /run/netns/*; do stat -L -c %i "$f"; done' 2>/dev/null)
done
for ns in /run/netns/${prefix}-*; do lab_namespace["net:$(stat -L -c %i "$ns" 2>/dev/null)"]=1; done
for task in /proc/[0-9]*; do
  pid=\${task#/proc/}
  [ "$pid" = "$$" ] && continue
  for kind in mnt net; do
    inode=$(stat -L -c %i "$task/ns/$kind" 2>/dev/null) || continue
    if [ -n "\${lab_namespace[$kind:$inode]:-}" ]; then kill -9 "$pid" 2>/dev/null; break; fi
  done
done
for pin in ${dir}/*.mnt ${dir}/*.uts; do umount "$pin" 2>/dev/null; done
for ns in /run/netns/${prefix}-*; do ip netns del "\${ns##*/}" 2>/dev/null; done
umount ${dir} 2>/dev/null
rm -rf -- ${dir}
true
`;
}
