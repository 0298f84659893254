// Rules of the two link types, macvlan and ipvlan, on one node: each mode belongs to one type, a parent carries one
// type (the kernel gives a device one receive handler: the second type's `ip link add` fails with "Device or resource
// busy"), ipvlan keeps one mode per parent (each new child sets it for all), an ipvlan has its parent's MAC, and only
// an l2 ipvlan can carry the host address (l3 answers no ARP: the LAN loses the host).
import type { PathSegment } from './diagnostics.js';
import type { Config, NodeConfig } from './schema.js';
import { MODES_OF_TYPE, type LinkType, type MacvlanMode } from './rules.js';
import { namespaceEntries, namespaceMode, namespaceType, nodeType, onlyIpvlans, shimMode } from './inherit.js';
import type { Finding } from './semantics.js';

const modeList = (type: LinkType): string => MODES_OF_TYPE[type].map((mode) => `"${mode}"`).join(', ');

/** The most specific place that set a namespace's type or mode: where a mismatch between them is reported. */
function mismatchPath(config: Config, node: NodeConfig, nsBase: PathSegment[], nodeBase: PathSegment[], own: { type?: unknown; mode?: unknown }): PathSegment[] {
  if (own.mode !== undefined) return [...nsBase, 'mode'];
  if (own.type !== undefined) return [...nsBase, 'type'];
  if (node.mode !== undefined) return [...nodeBase, 'mode'];
  if (node.type !== undefined) return [...nodeBase, 'type'];
  return config.defaults?.mode !== undefined ? ['defaults', 'mode'] : ['defaults', 'type'];
}

function modeProblem(type: LinkType, mode: MacvlanMode, what: string): string | undefined {
  if (MODES_OF_TYPE[type].includes(mode)) return undefined;
  const other: LinkType = type === 'macvlan' ? 'ipvlan' : 'macvlan';
  return `${what} is of type ${type}, and mode "${mode}" is ${other === 'ipvlan' ? 'an' : 'a'} ${other} mode; with type ${type} use ${modeList(type)}`;
}

export function checkLinkTypes(findings: Finding[], config: Config, nodeName: string, node: NodeConfig): void {
  const base: PathSegment[] = ['nodes', nodeName];
  const report = (finding: Finding): void => {
    const key = `${finding.path.join('.')}\0${finding.message}`;
    if (!findings.some((f) => `${f.path.join('.')}\0${f.message}` === key)) findings.push(finding);
  };
  /** The first link on the parent: the one every other must match in type (and, for ipvlan, mode). */
  let first: { what: string; type: LinkType; mode: MacvlanMode } | undefined;
  const claimParent = (what: string, type: LinkType, mode: MacvlanMode, path: PathSegment[]): void => {
    if (first === undefined) {
      first = { what, type, mode };
    } else if (first.type !== type) {
      report({
        path,
        message: `${what} is ${type === 'ipvlan' ? 'an' : 'a'} ${type}, and ${first.what} on the same parent ${node.parent} is ${first.type === 'ipvlan' ? 'an' : 'a'} ${first.type}: the kernel gives a parent to one kind only (the second fails with "Device or resource busy"); give the node one type`,
      });
    } else if (type === 'ipvlan' && first.mode !== mode) {
      report({
        path,
        message: `${what} is an ipvlan in mode "${mode}", and ${first.what} on the same parent ${node.parent} in mode "${first.mode}": the kernel keeps one ipvlan mode per parent (each new child switches all of them); give them one mode`,
      });
    }
  };

  for (const [name, ns] of namespaceEntries(node)) {
    const nsBase = [...base, 'namespaces', name];
    const type = namespaceType(config, node, ns);
    const mode = namespaceMode(config, node, ns);
    const problem = modeProblem(type, mode, `namespace ${name}`);
    if (problem) report({ path: mismatchPath(config, node, nsBase, base, ns), message: problem });
    if (type === 'ipvlan' && ns.mac !== undefined && ns.mac !== 'random' && ns.mac !== 'auto') {
      report({ path: [...nsBase, 'mac'], message: `an ipvlan always has its parent's MAC (the kernel ignores another and refuses to change it); remove "mac", or use type macvlan` });
    }
    claimParent(`namespace ${name}`, type, mode, [...nsBase, ns.type !== undefined ? 'type' : 'interface']);
  }

  const shim = node.hostShim;
  if (shim) {
    const shimBase = [...base, 'hostShim'];
    const type = nodeType(config, node);
    const mode = shimMode(config, node, shim);
    const problem = modeProblem(type, mode, `the host shim ${shim.interface}`);
    if (problem) report({ path: shim.mode !== undefined ? [...shimBase, 'mode'] : [...shimBase, 'interface'], message: problem });
    if (type === 'ipvlan') {
      if (shim.mac !== undefined && shim.mac !== 'random' && shim.mac !== 'auto') {
        report({ path: [...shimBase, 'mac'], message: `an ipvlan shim always has its parent's MAC (the kernel ignores another and refuses to change it); remove "mac"` });
      }
      if (mode === 'l3' || mode === 'l3s') {
        report({
          path: shim.mode !== undefined ? [...shimBase, 'mode'] : shimBase,
          message: `the host address cannot move onto an ipvlan in mode "${mode}": it answers no ARP, so the gateway and the LAN lose the host; use mode "l2" for this node, or no hostShim`,
        });
      }
      if (Array.isArray(node.address) && node.address.some((cidr) => cidr.includes(':'))) {
        report({
          path: [...base, 'address'],
          message: 'an ipvlan shim cannot take an IPv6 host address: the script announces it by setting the shim\'s MAC again, which an ipvlan refuses; use type macvlan for this node, or no hostShim',
        });
      }
    }
    claimParent(`the host shim ${shim.interface}`, type, mode, [...shimBase, 'interface']);
  }

  if (onlyIpvlans(config, node) && node.promisc === true) {
    report({
      path: [...base, 'promisc'],
      severity: 'warning',
      message: `every link of node "${nodeName}" is an ipvlan, which uses the parent's own MAC: ${node.parent} needs no promiscuous mode; remove "promisc"`,
    });
  }
}
