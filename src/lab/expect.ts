// expectReachability: which endpoint pairs can ping each other in one family, by macvlan's and IP routing's rules,
// each with why. The lab's switch is a plain learning bridge without hairpin, like most real access switches; the
// layer 2 rules are the same for both families, routing is decided per family.
import { familyOf, hostOf, isInSubnet, isLinkLocal6, type Family } from '../ip.js';
import { addressOf, defaultViaOf, vlanTowards, type Endpoint, type Topology } from './topology.js';

export interface Verdict {
  reach: boolean;
  reason: string;
}

export interface Expectation extends Verdict {
  from: string;
  to: string;
  /** The address of `to` pinged when it is one of its further addresses (absent: the one its matrix pings). */
  ip?: string;
}

const ok = (reason: string): Verdict => ({ reach: true, reason });
const no = (reason: string): Verdict => ({ reach: false, reason });

/** The MAC a frame from this endpoint carries, when the config fixes it. */
const macOf = (endpoint: Endpoint): string | undefined => (endpoint.attachment.kind === 'macvlan' ? endpoint.attachment.mac : undefined);

/** A source-mode macvlan takes frames only from the senders it lists (and passes others to its parent). */
function sourceFilter(receiver: Endpoint, sender: Endpoint): Verdict | undefined {
  if (receiver.attachment.kind !== 'macvlan' || receiver.attachment.mode !== 'source') return undefined;
  const senderMac = macOf(sender);
  if (senderMac !== undefined && receiver.attachment.sourceMacs.includes(senderMac)) return undefined;
  return no(`${receiver.id} is in source mode and accepts frames only from its sourceMacs`);
}

/**
 * ipvlan, as measured on Debian 12's kernel: children on one parent reach each other (l2 switches them by MAC, l3 by
 * address), never the parent; an l3 or l3s child answers no ARP (its parent hands the request to it, and it has
 * NOARP), so nothing on the LAN can resolve its address: only a router with a route to it via the host reaches it.
 */
function ipvlanRule(a: Endpoint, b: Endpoint, sameNode: boolean): Verdict | undefined {
  const [x, y] = [a.attachment, b.attachment];
  if (x.kind !== 'ipvlan' && y.kind !== 'ipvlan') return undefined;
  if (sameNode) {
    if (x.kind === 'ipvlan' && y.kind === 'ipvlan') return ok(`ipvlan siblings on one parent are switched inside the kernel (mode ${x.mode})`);
    const child = x.kind === 'ipvlan' ? a : b;
    return no(`${child.id} is an ipvlan child of the parent that carries the host address, and ipvlan children never reach their parent`);
  }
  const routedOnly = [a, b].find((endpoint) => endpoint.attachment.kind === 'ipvlan' && endpoint.attachment.mode !== 'l2');
  if (routedOnly) {
    return no(`${routedOnly.id} is an ipvlan in mode ${routedOnly.attachment.kind === 'ipvlan' ? routedOnly.attachment.mode : ''}: it answers no ARP, so the LAN cannot resolve its address (only a router with a route to it via its host could reach it)`);
  }
  return ok('different machines meet through the switch (an l2 ipvlan answers ARP with its parent\'s MAC)');
}

/** Can these two exchange frames on the LAN? */
function layer2(a: Endpoint, b: Endpoint, passthruNodes: Set<string>): Verdict {
  for (const endpoint of [a, b]) {
    if (endpoint.attachment.kind === 'parent' && passthruNodes.has(endpoint.attachment.node)) {
      return no(`a passthru macvlan on ${endpoint.id}'s parent takes every frame, so ${endpoint.id} itself gets none`);
    }
  }
  const filtered = sourceFilter(a, b) ?? sourceFilter(b, a);
  if (filtered) return filtered;
  const [x, y] = [a.attachment, b.attachment];
  const sameNode = 'node' in x && 'node' in y && x.node === y.node;
  const ipvlan = ipvlanRule(a, b, sameNode);
  if (ipvlan) return ipvlan;
  if (!sameNode) return ok('different machines meet through the switch');
  if (x.kind === 'parent' || y.kind === 'parent') {
    const child = x.kind === 'parent' ? b : a;
    return no(`${child.id} is a macvlan child of the parent that carries the host address, and children never reach their parent`);
  }
  if (x.kind === 'macvlan' && y.kind === 'macvlan') {
    if (x.mode === 'bridge' && y.mode === 'bridge') return ok('bridge-mode siblings on one parent are switched inside the kernel');
    const other = x.mode === 'bridge' ? b : a;
    const mode = other.attachment.kind === 'macvlan' ? other.attachment.mode : '';
    return no(
      mode === 'private'
        ? `${other.id} is in private mode: it never talks to siblings on its parent`
        : `${other.id} is in ${mode} mode: siblings on one parent meet only through a switch with hairpin, which this LAN lacks`,
    );
  }
  return ok('same machine');
}

const segmentName = (vlan: number | undefined): string => (vlan === undefined ? 'the untagged LAN' : `VLAN ${vlan}`);

/** Frames stay in their VLAN: the switch forwards a tagged frame only to ports of that VLAN, and strips no tag. */
function sameVlan(a: Endpoint, b: Endpoint, ip: string): Verdict | undefined {
  const [x, y] = [vlanTowards(a, ip), vlanTowards(b, ip)];
  if (x === y) return undefined;
  return no(`${a.id} is on ${segmentName(x)} and ${b.id} on ${segmentName(y)}: each VLAN is a LAN of its own, and only a router joins two`);
}

const connected = (endpoint: Endpoint, ip: string): boolean => endpoint.addresses.some((cidr) => isInSubnet(ip, cidr));
const ownsOnShim = (endpoint: Endpoint, ip: string): boolean => endpoint.shim?.addresses.some((cidr) => hostOf(cidr) === ip) ?? false;
const owns = (endpoint: Endpoint, ip: string): boolean => endpoint.addresses.some((cidr) => hostOf(cidr) === ip) || ownsOnShim(endpoint, ip);

/** A host as its shim with an address of its own: the interface that sends to, and receives at, the shim's routes and addresses. */
const asShim = (endpoint: Endpoint): Endpoint =>
  endpoint.shim === undefined ? endpoint : { ...endpoint, id: `${endpoint.id}'s shim ${endpoint.shim.interface}`, attachment: endpoint.shim.attachment };
/** The endpoint as the interface that holds this address. */
const at = (endpoint: Endpoint, ip: string): Endpoint => (ownsOnShim(endpoint, ip) ? asShim(endpoint) : endpoint);
/** Does the host send to this address through its shim (a host route there, from the shim's address)? */
const routedThroughShim = (endpoint: Endpoint, ip: string): boolean => endpoint.shim?.routesTo.includes(ip) ?? false;

/** The rules over a set of endpoints: can `a` ping `b` (at `ip`, unless at the address its matrix pings) in this family and get the reply, and why. */
function reachability(endpoints: Endpoint[], family: Family): (a: Endpoint, b: Endpoint, ip?: string) => Verdict {
  const gateway = endpoints.find((e) => e.kind === 'gateway');
  const passthruNodes = new Set(
    // A passthru macvlan on a VLAN device takes that VLAN's frames only; the parent keeps the untagged ones.
    endpoints.flatMap((e) => (e.attachment.kind === 'macvlan' && e.attachment.mode === 'passthru' && e.vlan === undefined ? [e.attachment.node] : [])),
  );
  const ownerOf = (ip: string): Endpoint | undefined => endpoints.find((e) => owns(e, ip));

  /** One hop on a wire towards `ip` (the destination, or the next hop): the LAN, or the VLAN that `ip` is in, for everyone but the client, whose only wire leads to the gateway. */
  const wire = (a: Endpoint, b: Endpoint, ip: string): Verdict => {
    if (a.kind === 'client' || b.kind === 'client') {
      return a.kind === 'gateway' || b.kind === 'gateway' ? ok('the client is wired to the gateway') : no('the client is only wired to the gateway');
    }
    const apart = sameVlan(a, b, ip);
    if (apart) return apart;
    const verdict = layer2(a, b, passthruNodes);
    const vlan = vlanTowards(a, ip);
    return vlan === undefined || !verdict.reach ? verdict : ok(`${verdict.reason}, both on VLAN ${vlan}`);
  };

  /** Can a packet from `from` to `ip` arrive? */
  const deliver = (from: Endpoint, ip: string, forwarded = false): Verdict => {
    const target = ownerOf(ip);
    if (!target) return no(`nothing in the lab has ${ip}`);
    if (target === from) return ok('own address');
    if (routedThroughShim(from, ip)) {
      const hop = wire(asShim(from), at(target, ip), ip);
      const how = `${from.id} routes ${ip} through its shim ${from.shim?.interface ?? ''}, which has an address of its own`;
      return hop.reach ? ok(`${how}: ${hop.reason}`) : no(`${how}, but: ${hop.reason}`);
    }
    if (connected(from, ip)) return wire(from, at(target, ip), ip);
    if (from === gateway) return no(`the gateway has no route to ${ip}`);
    if (forwarded) return no(`no route to ${ip}`);
    const route = from.routes.find((r) => isInSubnet(ip, r.to));
    const via = route?.via ?? defaultViaOf(from, family);
    if (via === undefined) {
      const [own, theirs] = [vlanTowards(from, ip), vlanTowards(target, ip)];
      const elsewhere = own === theirs || target.kind === 'client' ? '' : `, and ${ip} is on ${segmentName(theirs)}, ${from.id} on ${segmentName(own)}`;
      return no(`${from.id} has no route to ${ip}: it has no default route${elsewhere}`);
    }
    if (!gateway || !owns(gateway, via)) return no(`${from.id} routes ${ip} via ${via}, which the lab does not emulate`);
    const toGateway = wire(from, gateway, via);
    if (!toGateway.reach) return no(`${from.id} cannot reach its gateway ${via}: ${toGateway.reason}`);
    const onward = deliver(gateway, ip, true);
    return onward.reach ? ok(`routed through the gateway ${via}`) : no(`routed through the gateway ${via}, then: ${onward.reason}`);
  };

  const pinged = (endpoint: Endpoint): string => addressOf(endpoint, family) ?? '';

  /**
   * The address a ping to `to` is sent from, as the kernel picks it: the first of the family in the destination's
   * connected subnet; otherwise the one the matrix pings (the gateway: its first of the family).
   */
  const sourceAddress = (from: Endpoint, to: string): string => {
    const shimSource = routedThroughShim(from, to) ? from.shim?.addresses.find((cidr) => familyOf(cidr) === family) : undefined;
    if (shimSource !== undefined) return hostOf(shimSource);
    const ofFamily = from.addresses.filter((cidr) => familyOf(cidr) === family && !isLinkLocal6(hostOf(cidr)));
    const onLink = ofFamily.find((cidr) => isInSubnet(to, cidr));
    if (onLink !== undefined) return hostOf(onLink);
    return from === gateway ? hostOf(ofFamily[0] ?? pinged(from)) : pinged(from);
  };

  /** The gateway router's interface in a VLAN pings and answers as the router itself. */
  const actor = (endpoint: Endpoint): Endpoint => (endpoint.kind === 'vlan-gateway' && gateway ? gateway : endpoint);

  return (a, b, ip = pinged(b)) => {
    const there = deliver(actor(a), ip);
    const back = there.reach ? deliver(actor(b), sourceAddress(actor(a), ip)) : there;
    return !there.reach ? there : !back.reach ? no(`the reply cannot return: ${back.reason}`) : there;
  };
}

/** The endpoints that have an address of the family: the ones its matrix probes. */
export const endpointsOfFamily = (endpoints: Endpoint[], family: Family): Endpoint[] => endpoints.filter((endpoint) => addressOf(endpoint, family) !== undefined);

/** A namespace's addresses of the family beyond the one its matrix pings (several addresses on one namespace). */
export const furtherAddresses = (endpoint: Endpoint, family: Family): string[] =>
  endpoint.kind !== 'namespace'
    ? []
    : endpoint.addresses.map(hostOf).filter((ip) => familyOf(ip) === family && ip !== addressOf(endpoint, family) && !isLinkLocal6(ip));

/**
 * Every pair of endpoints that both have an address of the family (IPv4 unless told), with its verdict; then each
 * further address of a namespace, pinged from every other endpoint of the family.
 */
export function expectReachability(topology: Topology, family: Family = 4): Expectation[] {
  // Every endpoint takes part in the rules (a passthru child without IPv6 still takes its parent's frames).
  const verdict = reachability(topology.endpoints, family);
  const endpoints = endpointsOfFamily(topology.endpoints, family);
  const pairs = endpoints.flatMap((a, i) => endpoints.slice(i + 1).map((b) => ({ from: a.id, to: b.id, ...verdict(a, b) })));
  const further = endpoints.flatMap((b) =>
    furtherAddresses(b, family).flatMap((ip) => endpoints.filter((a) => a !== b).map((a) => ({ from: a.id, to: b.id, ip, ...verdict(a, b, ip) }))),
  );
  return [...pairs, ...further];
}

/** The endpoints the lab's LAN neighbour (the watcher) can ping in the family, by the same rules. */
export function reachableFromWatcher(topology: Topology, family: Family = 4): Endpoint[] {
  const { watcher } = topology;
  if (!watcher || addressOf(watcher, family) === undefined) return [];
  const verdict = reachability([...topology.endpoints, watcher], family);
  return endpointsOfFamily(topology.endpoints, family).filter((endpoint) => verdict(watcher, endpoint).reach);
}
