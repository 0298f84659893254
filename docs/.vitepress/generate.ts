// Regenerates every artifact the docs embed, from the generator itself: the seed example's scripts (for `<<<` region
// snippets and downloads), node1.sh install/uninstall and its unit, the CLI help of every command, and the config
// reference from the JSON Schema, and the schema itself at its published path. Also builds the standalone generator and its SHA256SUMS for the downloads, which
// are not committed (docs/public/downloads/standalone/).
// Run by `npm run docs:generate` (and so by docs:build); test/golden/docs.test.ts fails when the committed copies
// are stale. The lab's recorded transcripts and matrices need root: `npm run docs:record`; those of the VLAN and ipvlan
// examples also a kernel with 802.1Q and ipvlan, which the VM bench has: `npm run docs:record:vm`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStandalone, STANDALONE_NAME, writeStandalone } from '../../scripts/build-standalone.js';
import { configJsonSchema, SCHEMA_ID } from '../../src/config/schema.js';
import { CHECKSUMS_FILE, checksumLine } from '../../src/output/assemble.js';
import { ANSIBLE_FILES, INVENTORY_FILE } from '../../src/ansible/names.js';
import { SCHEMA_MODELINE } from '../../src/package-info.js';
import { generateFromText, validateText } from '../../src/pipeline.js';
import { buildPlan } from '../../src/plan/plan.js';
import { topologySvg } from '../../src/diagram/topology.js';
import { stagePictures } from '../../src/diagram/reachability.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'cli.js');

export const CLI_COMMANDS = ['generate', 'validate', 'check', 'lint', 'init', 'schema', 'diagram', 'lab', 'lab record', 'lab down'];

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  propertyNames?: { pattern?: string };
  items?: SchemaNode;
  maxItems?: number;
  required?: string[];
  anyOf?: SchemaNode[];
}

/** Chinese descriptions of the config keys, by path as the reference prints it. */
const ZH: Record<string, string> = {
  $schema: 'JSON Schema 的引用，供编辑器补全使用。',
  version: '配置格式版本，必须为 1。',
  defaults: '所有节点和命名空间继承的默认值，自身设置的值优先。',
  'defaults.mode': 'macvlan 模式。',
  'defaults.promisc': '把每个父网卡设为混杂模式。',
  'defaults.mtu': 'macvlan 接口的 MTU，不能超过父网卡的 MTU。',
  'defaults.mac': '每个未设置 MAC 的 macvlan 接口（命名空间和主机 shim）的 MAC："auto" 由节点名和接口名派生出固定的地址，"random" 让内核在每次 apply 时随机选择。`init` 写入 "auto"。',
  'defaults.nodad': '以 `nodad` 添加 IPv6 地址：立即可用，不做重复地址检测。默认情况下 apply 会等待检测结束，发现地址重复则失败。',
  'defaults.vlan': '802.1Q VLAN ID：macvlan 建在 VLAN 设备 `<parent>.<vlan>` 上；该设备不存在时由 apply 创建，teardown 只删除 apply 创建的那些。主机地址和主机 shim 留在不带标签的父网卡上。',
  'defaults.dns': '所有未指定 nameserver 的命名空间使用的 nameserver（见命名空间的 "dns"）。',
  'defaults.search': '命名空间 resolv.conf 中的搜索域（最多 6 个）；需要 "dns"。',
  'defaults.ssh': '所有未自行设置的节点使用的 SSH 端口和用户（每个节点的地址各不相同：`nodes.NODE.ssh.host`）。',
  'defaults.ssh.port': 'SSH 端口（默认 22，或控制机 ssh_config 中的设置）。',
  'defaults.ssh.user': 'Ansible 登录所用的用户（默认：控制机上的当前用户，或其 ssh_config 中的设置）。',
  nodes: '按名称列出的节点。',
  'nodes.<node>': '一台 Linux 节点；它的名称就是生成脚本的文件名。',
  'nodes.<node>.parent': 'macvlan 接口所依附的物理网卡（脚本从不把它关掉）。',
  'nodes.<node>.address': '主机自身在父网卡上的地址，带前缀长度；或一个 IPv4 加一个 IPv6 地址（双栈）。',
  'nodes.<node>.gateway': '主机的默认网关，每个地址族最多一个；hostShim 迁移主机地址时（未设置 `address`）必须有 IPv4 网关。',
  'nodes.<node>.promisc': '把父网卡设为混杂模式；未设置时继承 defaults。',
  'nodes.<node>.mode': '本节点命名空间的 macvlan 模式；未设置时继承 defaults。',
  'nodes.<node>.mtu': 'macvlan 接口的 MTU，不能超过父网卡的 MTU。',
  'nodes.<node>.nodad': '以 `nodad` 添加 IPv6 地址：立即可用，不做重复地址检测。默认情况下 apply 会等待检测结束，发现地址重复则失败。',
  'nodes.<node>.vlan': '本节点命名空间的 802.1Q VLAN ID（各自建在 `<parent>.<vlan>` 上）；未设置时继承 defaults。主机地址和主机 shim 留在不带标签的父网卡上。',
  'nodes.<node>.hostShim': '一个 macvlan 子接口，主机经由它访问自己的命名空间：主机地址迁到它上面；或者设置 `address` 时，shim 使用自己的地址，主机地址留在父网卡上。',
  'nodes.<node>.hostShim.interface': '主机 shim 的 macvlan 接口名（1–15 个字符）。',
  'nodes.<node>.hostShim.address': '另一种做法：shim 使用这个自己的地址（/32；双栈节点上再加一个 /128），并经由它添加到本节点每个命名空间的主机路由；主机地址从不离开父网卡（不需要守护进程、探测和确认）。不设置时，主机地址迁到 shim 上。',
  'nodes.<node>.hostShim.mode': 'shim 的 macvlan 模式。',
  'nodes.<node>.hostShim.mtu': 'shim 的 MTU，不能超过父网卡的 MTU。',
  'nodes.<node>.hostShim.mac': '单播 MAC 地址；"auto"（由节点名和接口名派生的本地管理地址，每次 apply 都相同）；或 "random"（由内核随机选择）。未设置时继承 defaults。',
  'nodes.<node>.hostShim.routes': '在地址和默认路由之后添加的静态路由。',
  'nodes.<node>.hostShim.routes[].to': '目标网段。',
  'nodes.<node>.hostShim.routes[].via': '下一跳，与目标同一地址族；必须在该接口同族的子网内直连可达，或是 IPv6 链路本地地址。',
  'nodes.<node>.hostShim.confirmTimeout': '迁移后等待 `node.sh confirm` 的秒数，超时未确认则自动回滚。',
  'nodes.<node>.hostShim.probes': '迁移后必须能应答的地址；默认是节点的网关。',
  'nodes.<node>.ssh': '`generate --ansible` 生成的 inventory 经 SSH 连接该节点的方式（ansible_host、ansible_port、ansible_user）；端口和用户继承 defaults。脚本本身不受影响。',
  'nodes.<node>.ssh.host': 'Ansible 连接该节点所用的地址或 DNS 名称（例如管理网络的地址）；不设置时为节点的 IPv4 主机地址。',
  'nodes.<node>.ssh.port': 'SSH 端口（默认 22，或控制机 ssh_config 中的设置）。',
  'nodes.<node>.ssh.user': 'Ansible 登录所用的用户（默认：控制机上的当前用户，或其 ssh_config 中的设置）。',
  'nodes.<node>.namespaces': '按名称列出的网络命名空间。',
  'nodes.<node>.namespaces.<netns>': '一个网络命名空间，带一个挂在父网卡上的 macvlan 接口。',
  'nodes.<node>.namespaces.<netns>.interface': '命名空间内 macvlan 接口的名称（1–15 个字符）。',
  'nodes.<node>.namespaces.<netns>.address':
    '命名空间的地址，带前缀长度；或两个地址族的地址列表（双栈）：每个地址族的第一个地址是命名空间发出流量时使用的地址，其余地址在它之后添加。',
  'nodes.<node>.namespaces.<netns>.gateway': '命名空间内的默认网关，每个地址族最多一个；不设置时只能访问本子网。',
  'nodes.<node>.namespaces.<netns>.mode': 'macvlan 模式；依次继承节点和 defaults 的设置。',
  'nodes.<node>.namespaces.<netns>.mtu': 'macvlan 接口的 MTU，不能超过父网卡的 MTU。',
  'nodes.<node>.namespaces.<netns>.nodad': '以 `nodad` 添加 IPv6 地址：立即可用，不做重复地址检测。默认情况下 apply 会等待检测结束，发现地址重复则失败。',
  'nodes.<node>.namespaces.<netns>.mac': '单播 MAC 地址；"auto"（由节点名和命名空间名派生的本地管理地址，每次 apply 都相同）；或 "random"（由内核随机选择）。未设置时继承 defaults。',
  'nodes.<node>.namespaces.<netns>.vlan': '该命名空间 macvlan 的 802.1Q VLAN ID（建在 `<parent>.<vlan>` 上）；依次继承节点和 defaults 的设置。不设置时建在不带标签的父网卡上。',
  'nodes.<node>.namespaces.<netns>.routes': '在地址和默认路由之后添加的静态路由。',
  'nodes.<node>.namespaces.<netns>.routes[].to': '目标网段。',
  'nodes.<node>.namespaces.<netns>.routes[].via': '下一跳，与目标同一地址族；必须在该接口同族的子网内直连可达，或是 IPv6 链路本地地址。',
  'nodes.<node>.namespaces.<netns>.dns':
    '命名空间的 nameserver（最多 3 个，解析器只读这么多），写入 /etc/netns/NAMESPACE/resolv.conf，`ip netns exec` 会把它显示为 /etc/resolv.conf；teardown 会删除它。空列表表示不写。',
  'nodes.<node>.namespaces.<netns>.search': '命名空间 resolv.conf 中的搜索域（最多 6 个）；需要 "dns"。',
  'nodes.<node>.namespaces.<netns>.sourceMacs': '仅用于 source 模式：允许发送帧给该接口的源 MAC 地址列表。',
};

interface Row {
  path: string;
  node: SchemaNode;
  required: boolean;
}

function rows(node: SchemaNode, prefix: string, required: boolean, out: Row[]): Row[] {
  if (prefix) out.push({ path: prefix, node, required });
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    rows(child, prefix ? `${prefix}.${key}` : key, node.required?.includes(key) ?? false, out);
  }
  if (typeof node.additionalProperties === 'object') {
    const placeholder = prefix === 'nodes' ? '<node>' : '<netns>';
    rows(node.additionalProperties, `${prefix}.${placeholder}`, true, out);
  }
  if (node.items?.properties) rows(node.items, `${prefix}[]`, true, out);
  return out;
}

function typeOf(node: SchemaNode): string {
  // One value or a list; alternatives that differ only in format (IPv4 or IPv6) are one type here.
  if (node.anyOf) return [...new Set(node.anyOf.map((alternative) => typeOf({ type: node.type, ...alternative })))].join(' or ');
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.const !== undefined) return `\`${String(node.const)}\``;
  if (node.type === 'array') {
    const bound = node.maxItems === undefined ? '' : `up to ${node.maxItems} `;
    return `list of ${bound}${node.items?.properties ? 'maps' : (node.items?.type ?? 'values')}`;
  }
  if (node.type === 'object') return 'map';
  const range = node.minimum !== undefined ? ` ${node.minimum}–${node.maximum ?? ''}` : '';
  return `${node.type ?? 'string'}${range}`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function configReference(language: 'en' | 'zh'): string {
  const schema = configJsonSchema() as SchemaNode;
  const header =
    language === 'en'
      ? '| key | type | required | default | example | what it is |\n| --- | --- | --- | --- | --- | --- |'
      : '| 键 | 类型 | 必填 | 默认值 | 示例 | 含义 |\n| --- | --- | --- | --- | --- | --- |';
  const yes = language === 'en' ? 'yes' : '是';
  const lines = rows(schema, '', true, []).map(({ path: key, node, required }) => {
    const description = language === 'en' ? (node.description ?? '') : (ZH[key] ?? node.description ?? '');
    const example = node.examples?.[0] === undefined ? '' : `\`${JSON.stringify(node.examples[0])}\``;
    const fallback = node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``;
    return `| \`${key}\` | ${typeOf(node)} | ${required ? yes : ''} | ${fallback} | ${cell(example)} | ${cell(description)} |`;
  });
  return `${header}\n${lines.join('\n')}\n`;
}

function cliHelp(command: string): string {
  const run = spawnSync(process.execPath, [CLI, ...command.split(' '), '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } });
  if (run.status !== 0) throw new Error(`macvlan-gen ${command} --help failed: ${run.stderr}`);
  return `$ macvlan-gen ${command} --help\n${run.stdout}`;
}

/**
 * What node1.sh install and uninstall print, run for real on trees in a temporary folder (--root), and the unit
 * they install. The trees have relative names, so the transcripts are the same on every run.
 */
function persistenceArtifacts(script: string): Map<string, string> {
  const work = mkdtempSync(path.join(tmpdir(), 'macvlan-gen-docs-'));
  const files = new Map<string, string>();
  try {
    writeFileSync(path.join(work, 'node1.sh'), script, { mode: 0o755 });
    mkdirSync(path.join(work, 'node-root/etc/systemd/system'), { recursive: true });
    mkdirSync(path.join(work, 'tree-without-systemd'));
    const transcript = (args: string[]): string => {
      const run = spawnSync('bash', ['node1.sh', ...args], { cwd: work, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`node1.sh ${args.join(' ')} failed: ${run.stderr}`);
      return `$ ./node1.sh ${args.join(' ')}\n${run.stdout}`;
    };
    files.set('docs/generated/persistence/install.txt', transcript(['install', '--root', 'node-root']));
    files.set('docs/generated/persistence/install-again.txt', transcript(['install', '--root', 'node-root']));
    files.set('docs/generated/persistence/macvlan-gen-node1.service', readFileSync(path.join(work, 'node-root/etc/systemd/system/macvlan-gen-node1.service'), 'utf8'));
    files.set('docs/generated/persistence/uninstall.txt', transcript(['uninstall', '--root', 'node-root']));
    files.set('docs/generated/persistence/install-without-systemd.txt', transcript(['install', '--root', 'tree-without-systemd']));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return files;
}

/** The examples whose config and scripts the site offers for download and embeds region by region. */
export const DOWNLOADED_EXAMPLES = ['seed', 'seed-dual-stack', 'shim-keeps-address', 'dns', 'several-addresses', 'ipvlan', 'vlans'] as const;

/**
 * The topology pictures, wide and narrow (for a phone): the seed as configured, and each stage of its staged lab, plain
 * (the first stage, namespaces only, for "What macvlan is") and with the stage's reachability drawn on it, whose pairs
 * in words (<stage>-pairs.json) the step pages list under the picture.
 */
function diagramArtifacts(): Map<string, string> {
  const seed = validateText(readFileSync(path.join(ROOT, 'examples', 'seed.yaml'), 'utf8'), 'examples/seed.yaml').config;
  const pictures = new Map<string, string>();
  const base = 'docs/generated/diagrams/seed';
  for (const layout of ['wide', 'narrow'] as const) pictures.set(`${base}-${layout}.svg`, topologySvg(buildPlan(seed), layout));
  for (const stage of stagePictures(seed)) {
    pictures.set(`${base}-${stage.stage}-wide.svg`, stage.wide);
    pictures.set(`${base}-${stage.stage}-narrow.svg`, stage.narrow);
    pictures.set(`${base}-${stage.stage}-reach-wide.svg`, stage.reachWide);
    pictures.set(`${base}-${stage.stage}-reach-narrow.svg`, stage.reachNarrow);
    pictures.set(`${base}-${stage.stage}-pairs.json`, `${JSON.stringify(stage.pairs, null, 2)}\n`);
  }
  return pictures;
}

/**
 * The fleet page's other ways to reach the nodes: the example that sets `ssh` and the inventory it generates, then
 * `generate --ansible-host` run for real over it (what it printed, and the inventory it wrote).
 */
function sshInventories(): Map<string, string> {
  const source = 'examples/ansible-ssh.yaml';
  const text = readFileSync(path.join(ROOT, source), 'utf8');
  const files = new Map([
    ['docs/generated/ansible/ssh/ansible-ssh.yaml', text],
    ['docs/generated/ansible/ssh/inventory.yml', generateFromText(text, source, { ansible: true }).files.find((file) => file.name === INVENTORY_FILE)?.content ?? ''],
  ]);
  const work = mkdtempSync(path.join(tmpdir(), 'macvlan-gen-docs-'));
  try {
    writeFileSync(path.join(work, 'ansible-ssh.yaml'), text);
    const args = ['generate', 'ansible-ssh.yaml', '--ansible', '--ansible-host', 'node2=10.255.0.10'];
    const run = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`macvlan-gen ${args.join(' ')} failed: ${run.stderr}`);
    files.set('docs/generated/ansible/ssh/generate-ansible-host.txt', `$ macvlan-gen ${args.join(' ')}\n${run.stdout}`);
    files.set('docs/generated/ansible/ssh/inventory-ansible-host.yml', readFileSync(path.join(work, 'out', INVENTORY_FILE), 'utf8'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return files;
}

/** Every generated file of the docs, by path relative to the repository root. */
export function docsArtifacts(): Map<string, string> {
  const files = new Map<string, string>();
  const seed = new Map<string, string>();
  for (const example of DOWNLOADED_EXAMPLES) {
    const text = readFileSync(path.join(ROOT, 'examples', `${example}.yaml`), 'utf8');
    for (const file of generateFromText(text, `examples/${example}.yaml`).files) {
      files.set(`docs/public/downloads/${example}/${file.name}`, file.content);
      if (example === 'seed') seed.set(file.name, file.content);
    }
    files.set(`docs/public/downloads/${example}/${example}.yaml`, text);
  }
  // The fleet page shows the Ansible files `generate --ansible` writes for the seed.
  const seedText = readFileSync(path.join(ROOT, 'examples', 'seed.yaml'), 'utf8');
  for (const file of generateFromText(seedText, 'examples/seed.yaml', { ansible: true }).files) {
    if (ANSIBLE_FILES.includes(file.name)) files.set(`docs/generated/ansible/${file.name}`, file.content);
  }
  for (const [name, content] of sshInventories()) files.set(name, content);
  const node1 = seed.get('node1.sh');
  if (node1 === undefined) throw new Error('the seed example has no node1.sh');
  for (const [name, content] of persistenceArtifacts(node1)) files.set(name, content);
  for (const [name, content] of diagramArtifacts()) files.set(name, content);
  for (const command of CLI_COMMANDS) files.set(`docs/generated/cli/${command.replace(' ', '-')}.txt`, cliHelp(command));
  files.set('docs/generated/reference/modeline.yaml', `${SCHEMA_MODELINE}\n`);
  // The committed schema (what `macvlan-gen schema` prints), published where its $id says.
  files.set(`docs/public${new URL(SCHEMA_ID).pathname}`, readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8'));
  files.set('docs/generated/reference/config.en.md', configReference('en'));
  files.set('docs/generated/reference/config.zh.md', configReference('zh'));
  return files;
}

const STANDALONE_DOWNLOADS = 'docs/public/downloads/standalone';

/** The downloads built for the site, never committed: the standalone generator and its SHA256SUMS. */
export const STANDALONE_DOWNLOAD_FILES = [`${STANDALONE_DOWNLOADS}/${STANDALONE_NAME}`, `${STANDALONE_DOWNLOADS}/${CHECKSUMS_FILE}`];

/** Builds the standalone generator into the site's downloads, with its SHA256SUMS; returns its SHA256. */
export async function writeStandaloneDownload(): Promise<string> {
  const standalone = await buildStandalone();
  writeStandalone(standalone, path.join(ROOT, STANDALONE_DOWNLOADS, STANDALONE_NAME));
  writeFileSync(path.join(ROOT, STANDALONE_DOWNLOADS, CHECKSUMS_FILE), checksumLine(standalone.sha256, STANDALONE_NAME));
  return standalone.sha256;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, content] of docsArtifacts()) {
    mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
    writeFileSync(path.join(ROOT, file), content);
  }
  const sha256 = await writeStandaloneDownload();
  console.log(`docs artifacts regenerated; standalone ${STANDALONE_NAME} sha256 ${sha256}`);
}
