// ansibleFiles: a plan -> the Ansible inventory (one host per node) and the playbooks that roll the scripts out
// (`generate --ansible`). The playbooks are the same for every config; only the inventory carries config values, and
// the `yaml` library writes it, so a value can never become YAML structure. Pure: the playbook texts come in.
import { Document, type Scalar } from 'yaml';
import type { NodePlan, Plan } from '../plan/plan.js';
import { checkSshHost, describeSharedEndpoint, sharedEndpoints, type SshEndpoint } from '../config/ssh.js';
import { didYouMean } from '../config/validate.js';
import { DATA_MODE, type OutputFile } from '../output/assemble.js';
import { INVENTORY_FILE, PLAYBOOK_FILES } from './names.js';

/** The inventory group the playbooks run on. */
export const NODE_GROUP = 'macvlan_gen_nodes';
/** Where the playbooks keep the scripts on the nodes, unless the operator says otherwise. */
export const NODE_SCRIPT_DIR = '/var/lib/macvlan-gen';

/** Host names Ansible gives a meaning of its own: a node of that name would be a group, or the controller. */
const ANSIBLE_RESERVED_HOSTS = ['all', 'ungrouped', 'localhost'];

/** Names of nodes the inventory cannot hold, with why. */
export function ansibleNameProblems(plan: Plan): string[] {
  return plan.nodes
    .filter((node) => ANSIBLE_RESERVED_HOSTS.includes(node.name))
    .map((node) => `nodes.${node.name}: "${node.name}" means ${node.name === 'localhost' ? 'the controller' : 'a group'} to Ansible; rename the node to generate an inventory`);
}

/** The values the inventory holds are node names, addresses and file names: none may carry Jinja or YAML syntax. */
const INVENTORY_VALUE = /^[A-Za-z0-9._:/-]+$/;

function checkedValue(value: string): string {
  if (!INVENTORY_VALUE.test(value)) throw new Error(`internal error: ${JSON.stringify(value)} cannot go into the Ansible inventory`);
  return value;
}

/** The node's address on the command line, `--ansible-host NODE=ADDRESS`, by node name. */
export type AnsibleHosts = ReadonlyMap<string, string>;

/** What is wrong with `--ansible-host`: a node the config lacks, an address that is none, two nodes reached at one place. */
export function ansibleHostProblems(plan: Plan, hosts: AnsibleHosts): string[] {
  const names = plan.nodes.map((node) => node.name);
  const problems = [...hosts].flatMap(([name, host]) => {
    const flag = `--ansible-host ${name}=${host}`;
    if (!names.includes(name)) {
      const suggestion = didYouMean(name, names);
      return [`${flag}: the config has no node "${name}"; ${suggestion === undefined ? `its nodes: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}` : `did you mean "${suggestion}"?`}`];
    }
    const problem = checkSshHost(host);
    return problem === undefined ? [] : [`${flag}: ${problem}`];
  });
  if (problems.length > 0) return problems;
  const endpoints = plan.nodes.map((node): SshEndpoint => ({ node: node.name, host: connectionOf(node, hosts).host, ...(node.ssh?.port !== undefined && { port: node.ssh.port }) }));
  return sharedEndpoints(endpoints)
    .filter((clash) => hosts.has(clash.node.node) || hosts.has(clash.first.node))
    .map((clash) => `--ansible-host: ${describeSharedEndpoint(clash)}`);
}

/** Where Ansible reaches a node, and what said so: the flag, the config's ssh.host, else the host address. */
function connectionOf(node: NodePlan, hosts: AnsibleHosts): { host: string; from?: string } {
  const flagged = hosts.get(node.name);
  if (flagged !== undefined) return { host: flagged, from: '--ansible-host' };
  if (node.ssh?.host !== undefined) return { host: node.ssh.host, from: `nodes.${node.name}.ssh.host` };
  return { host: node.hostIp };
}

const HEADER_HOST_ADDRESS = [
  ' One host per node, for rollout.yml and teardown.yml; ansible_host is the node\'s host address. To reach the nodes',
  ' another way (a management address, a user, a jump host) or keep the scripts elsewhere, set those variables in an',
  ' inventory of your own given after this one (-i inventory.yml -i mine.yml) or in host_vars/, not here:',
  ' `macvlan-gen check` reports edits of this file as drift.',
];
const HEADER_SSH = [
  ' One host per node, for rollout.yml and teardown.yml. ansible_host is the node\'s host address where no comment',
  ' beside it names another source (the config\'s ssh.host, or generate\'s --ansible-host); ansible_port and',
  ' ansible_user come from the config\'s ssh. To reach the nodes yet another way (a jump host, become) or keep the',
  ' scripts elsewhere, set those variables in an inventory of your own given after this one (-i inventory.yml',
  ' -i mine.yml) or in host_vars/, not here: `macvlan-gen check` reports edits of this file as drift.',
];

export function inventoryText(plan: Plan, meta: { generator: string; configSha256: string }, hosts: AnsibleHosts = new Map()): string {
  const connections = new Map(plan.nodes.map((node) => [node.name, connectionOf(node, hosts)]));
  const hostVars = (node: NodePlan) => ({
    ansible_host: checkedValue(connections.get(node.name)?.host ?? node.hostIp),
    ...(node.ssh?.port !== undefined && { ansible_port: node.ssh.port }),
    ...(node.ssh?.user !== undefined && { ansible_user: checkedValue(node.ssh.user) }),
    macvlan_gen_script: checkedValue(`${node.name}.sh`),
  });
  const hostsPath = ['all', 'children', NODE_GROUP, 'hosts'];
  const document = new Document({ all: { children: { [NODE_GROUP]: { vars: { macvlan_gen_dir: NODE_SCRIPT_DIR }, hosts: Object.fromEntries(plan.nodes.map((node) => [checkedValue(node.name), hostVars(node)])) } } } });
  for (const [name, connection] of connections) {
    if (connection.from !== undefined) (document.getIn([...hostsPath, name, 'ansible_host'], true) as Scalar).comment = ` ${connection.from}`;
  }
  const configured = plan.nodes.some((node) => node.ssh !== undefined) || hosts.size > 0;
  document.commentBefore = [` Generated by ${meta.generator}, config sha256 ${meta.configSha256}.`, ...(configured ? HEADER_SSH : HEADER_HOST_ADDRESS)].join('\n');
  return document.toString({ lineWidth: 0 });
}

/** The inventory and the playbooks, as output files. */
export function ansibleFiles(plan: Plan, playbooks: Record<(typeof PLAYBOOK_FILES)[number], string>, meta: { generator: string; configSha256: string }, hosts: AnsibleHosts = new Map()): OutputFile[] {
  return [
    { name: INVENTORY_FILE, content: inventoryText(plan, meta, hosts), mode: DATA_MODE },
    ...PLAYBOOK_FILES.map((name) => ({ name, content: playbooks[name], mode: DATA_MODE })),
  ];
}
