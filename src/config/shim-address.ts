// Rules for the host shim's other strategy (`hostShim.address`): the shim has an address of its own and the host
// address stays on the parent.
import type { PathSegment } from './diagnostics.js';
import type { HostShimConfig, NodeConfig } from './schema.js';
import { namespaceEntries } from './inherit.js';
import { checkInterfaceCidr } from './rules.js';
import { listOf } from './families.js';
import { describeRange, familyOf, hostOf, isInSubnet, networkOf, rangeOf, type Family } from '../ip.js';

interface Finding {
  path: PathSegment[];
  message: string;
  severity?: 'error' | 'warning';
}

const SINGLE_HOST: Record<Family, number> = { 4: 32, 6: 128 };
const FAMILY_NAME: Record<Family, string> = { 4: 'IPv4', 6: 'IPv6' };

/** Keys that only the migration strategy uses, with why they mean nothing when the host address stays on the parent. */
const MIGRATION_ONLY: [keyof HostShimConfig, string][] = [
  ['probes', 'probes prove a moved host address; with hostShim.address the host address never moves'],
  ['confirmTimeout', 'there is nothing to confirm: with hostShim.address the host address never moves'],
  ['routes', "hostShim.routes replace routes the migration takes off the parent; with hostShim.address the host's routes stay on the parent"],
];

/** Ranges that no interface can answer at on a LAN: the kernel or the LAN gives them another meaning. */
const SPECIAL_RANGES = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback']);

/** Why an address cannot be the shim's own: a special range, or the network or broadcast address of a subnet the node uses. */
function specialAddressProblem(address: string, subnets: string[]): string | undefined {
  const range = rangeOf(address);
  if (SPECIAL_RANGES.has(range)) return `is ${describeRange(range)}`;
  for (const subnet of subnets.filter((cidr) => familyOf(cidr) === 4 && isInSubnet(address, cidr))) {
    // The rule every interface address follows, with the subnet's prefix.
    const problem = checkInterfaceCidr(`${address}/${subnet.split('/')[1] ?? '32'}`);
    if (problem !== undefined) return `is ${problem.replace(/^"[^"]*" is /, '').replace(/; use a host address$/, '')}`;
  }
  return undefined;
}

/**
 * The shim's own addresses (`addresses`, by family, already checked for one per family and an IPv4 one): single
 * hosts, of the families the node's namespaces need, on-link for each namespace; and none of the migration's keys.
 * `claim` reports an address the fleet already uses (the host's, a namespace's, another shim's).
 */
export function checkShimAddress(
  findings: Finding[],
  node: NodeConfig,
  shim: HostShimConfig,
  addresses: Map<Family, string[]>,
  base: PathSegment[],
  claim: (address: string, path: PathSegment[]) => void,
): void {
  const path = [...base, 'address'];
  const itemPath = (i: number): PathSegment[] => (typeof shim.address === 'string' ? path : [...path, i]);
  listOf(shim.address).forEach((cidr, i) => {
    const family = familyOf(cidr);
    const prefix = Number(cidr.split('/')[1]);
    if (prefix !== SINGLE_HOST[family]) {
      findings.push({
        path: itemPath(i),
        message: `${cidr} must be a single host, /${SINGLE_HOST[family]}: a wider prefix would give ${shim.interface} a route to ${networkOf(cidr)}, and the host's own traffic to that subnet would leave through the shim instead of ${node.parent}`,
      });
    }
    const special = specialAddressProblem(hostOf(cidr), [...listOf(node.address), ...namespaceEntries(node).flatMap(([, ns]) => listOf(ns.address))]);
    if (special !== undefined) findings.push({ path: itemPath(i), message: `${cidr} ${special}; give the shim an ordinary unicast address of the host's subnet` });
    claim(hostOf(cidr), itemPath(i));
  });
  const namespaces = namespaceEntries(node);
  const shim6 = addresses.get(6)?.[0];
  if (shim6 !== undefined && !listOf(node.address).some((cidr) => familyOf(cidr) === 6)) {
    findings.push({ path, message: `${shim6} is IPv6, and the host has no IPv6 address: give the shim an IPv6 address only on a dual-stack node` });
  }
  const host6 = listOf(node.address).find((cidr) => familyOf(cidr) === 6);
  if (shim6 === undefined && host6 !== undefined && namespaces.some(([, ns]) => listOf(ns.address).some((cidr) => familyOf(cidr) === 6))) {
    findings.push({ path, message: `the node is dual stack: give the shim an IPv6 /128 (in ${networkOf(host6)}) beside its IPv4 address, or the host cannot reach its namespaces over IPv6` });
  }
  for (const [name, ns] of namespaces) {
    for (const [family, shimCidrs] of addresses) {
      const own = shimCidrs[0];
      // A namespace with several addresses of a family answers directly when the shim is in any of its subnets.
      const subnets = listOf(ns.address).filter((cidr) => familyOf(cidr) === family);
      const cidr = subnets[0];
      if (own === undefined || cidr === undefined || subnets.some((subnet) => isInSubnet(hostOf(own), subnet))) continue;
      findings.push({
        path: [...base, 'address'],
        severity: 'warning',
        message: `${hostOf(own)} is outside ${name}'s subnet ${networkOf(cidr)}: ${name} answers the host through its gateway, if it has one, not directly; give the shim an ${FAMILY_NAME[familyOf(cidr)]} address inside it`,
      });
    }
  }
  for (const [key, why] of MIGRATION_ONLY) {
    if (shim[key] !== undefined) findings.push({ path: [...base, key], message: `${key} cannot be used with hostShim.address: ${why}` });
  }
}
