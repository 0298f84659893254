// The shape of a version 1 config: one zod schema gives the TypeScript types, the shape checks and the JSON Schema.
import { z } from 'zod';
import {
  INTERFACE_NAME_PATTERN,
  IPVLAN_MODES,
  LINK_TYPES,
  MACVLAN_MODES,
  MAC_PATTERN,
  MAX_NAMESERVERS,
  MAX_SEARCH_DOMAINS,
  MTU_MAX,
  MTU_MIN,
  VLAN_MAX,
  VLAN_MIN,
  NETNS_NAME_PATTERN,
  NODE_NAME_PATTERN,
  RESERVED_INTERFACE_NAMES,
  RESERVED_KEY_NAMES,
  SEARCH_DOMAIN_PATTERN,
  checkInterfaceCidr,
  checkInterfaceName,
  checkIpAddress,
  checkMac,
  checkMacSetting,
  checkRouteCidr,
  checkSearchDomain,
} from './rules.js';
import { DOCS_SITE } from '../site.js';
import { defaultsSshSchema, sshSchema } from './ssh.js';

export const SCHEMA_FILE = 'macvlan-gen.schema.json';
/** Where the docs site publishes the schema; v1 is the config's version, so the path holds for every version 1 file. */
export const SCHEMA_ID = `${DOCS_SITE}/schema/v1/${SCHEMA_FILE}`;

/** A string checked by one of the rules in rules.ts, with the same rule stated for editors in the JSON Schema. */
function checkedString(check: (value: string) => string | undefined, schemaHints: Record<string, unknown>) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = check(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta(schemaHints);
}

const interfaceName = (description: string, example: string) =>
  checkedString(checkInterfaceName, {
    description,
    pattern: INTERFACE_NAME_PATTERN,
    not: { enum: [...RESERVED_INTERFACE_NAMES.keys()] },
    examples: [example],
  });
const notReservedKey = { not: { enum: RESERVED_KEY_NAMES } };
const ipAddress = (description: string) =>
  checkedString(checkIpAddress, { description, anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }], examples: ['192.168.1.1', '2001:db8:179::1'] });
/** One value or a list of up to two, one of each family: `address: 192.168.179.9/16` or `[192.168.179.9/16, 2001:db8:179::9/64]`. */
const perFamily = <T extends z.ZodType>(item: T, description: string, examples: unknown[]) =>
  z.union([item, z.array(item).min(1).max(2)]).meta({ description, examples });
const interfaceCidr = checkedString(checkInterfaceCidr, { description: 'An address with prefix length, IPv4 or IPv6.' });
const interfaceCidrs = (description: string, examples: string[]) => perFamily(interfaceCidr, description, [examples[0], examples]);
const gateways = (description: string) =>
  perFamily(ipAddress('A gateway, IPv4 or IPv6 (an IPv6 one may be link-local, fe80::/10).'), description, [
    '192.168.1.1',
    ['192.168.1.1', '2001:db8:179::1'],
  ]);

const mode = z.enum([...MACVLAN_MODES, ...IPVLAN_MODES]);
const linkType = z
  .enum(LINK_TYPES)
  .meta({
    description:
      'Kind of link on the parent: "macvlan" (a MAC of its own per child; the uplink must accept several MACs per port) or "ipvlan" (every child shares the parent\'s MAC: Wi-Fi, cloud VMs, VMware port groups without promiscuous mode). Modes: macvlan bridge, private, vepa, passthru, source; ipvlan l2, l3, l3s. One parent carries one kind.',
  });
const modeText = 'mode of the link: bridge, private, vepa, passthru or source with type macvlan; l2, l3 or l3s with type ipvlan';
const mtu = z
  .number()
  .int()
  .min(MTU_MIN)
  .max(MTU_MAX)
  .meta({ description: 'MTU of the macvlan interface; at most the parent NIC\'s MTU.', examples: [1500] });

const nodad = z
  .boolean()
  .meta({
    description:
      'Add IPv6 addresses with `nodad`: usable at once, without duplicate address detection. By default apply waits for it and fails on a duplicate.',
    default: false,
  });

const vlan = z
  .number()
  .int()
  .min(VLAN_MIN)
  .max(VLAN_MAX)
  .meta({
    description:
      '802.1Q VLAN id: the macvlan sits on the VLAN device `<parent>.<vlan>`, which apply creates if missing and teardown removes only if apply created it. The host address and host shim stay on the untagged parent.',
    examples: [50],
  });
const dns = z
  .array(ipAddress('A nameserver, IPv4 or IPv6, of a family the namespace has an address of.'))
  .meta({
    maxItems: MAX_NAMESERVERS,
    description: `Nameservers for the namespace (at most ${MAX_NAMESERVERS}, what the resolver reads), written to /etc/netns/NAMESPACE/resolv.conf, which \`ip netns exec\` shows as /etc/resolv.conf; teardown removes it. An empty list writes none.`,
    examples: [['192.168.1.53'], ['192.168.1.53', '2001:db8:179::53']],
  });
const search = z
  .array(checkedString(checkSearchDomain, { description: 'A search domain.', pattern: SEARCH_DOMAIN_PATTERN }))
  .min(1)
  .meta({
    maxItems: MAX_SEARCH_DOMAINS,
    description: `Search domains for the namespace's resolv.conf (at most ${MAX_SEARCH_DOMAINS}); needs "dns".`, examples: [['lab.example.com']] });

const route = z
  .strictObject({
    to: checkedString(checkRouteCidr, { description: 'Destination network.', examples: ['10.8.0.0/16'] }),
    via: ipAddress('Next hop of the destination\'s family; on-link in the interface\'s subnet of that family, or IPv6 link-local.'),
  })
  .meta({ description: 'A static route: `ip route add TO via VIA dev INTERFACE`.' });
const routes = z.array(route).meta({ description: 'Extra static routes, added after the address and default route.' });

const macAddress = checkedString(checkMacSetting, {
  description:
    'A unicast MAC address, "auto" for one derived from the node and interface names (locally administered, the same on every apply), or "random" for the kernel\'s choice; inherits the defaults\'.',
  anyOf: [{ const: 'auto' }, { const: 'random' }, { pattern: MAC_PATTERN }],
  examples: ['auto', 'random', '02:42:c0:a8:b3:0c'],
});

const namespace = z
  .strictObject({
    interface: interfaceName('Name of the macvlan interface inside the namespace (1-15 characters).', 'mac1'),
    address: z.union([interfaceCidr, z.array(interfaceCidr).min(1)]).meta({
      description:
        'The namespace\'s address with prefix length, or a list of addresses of both families (dual stack); the first of each family is the one the namespace sends from, the others are added after it.',
      examples: ['192.168.179.12/16', ['192.168.179.12/16', '2001:db8:179::12/64'], ['192.168.179.12/16', '192.168.179.20/16', '10.20.0.12/24']],
    }),
    gateway: gateways('Default gateway inside the namespace, at most one per family; without one only the local subnet is reachable.').optional(),
    type: linkType.optional(),
    mode: mode.optional().meta({ description: `The ${modeText}; inherits the node\'s, then the defaults\'.` }),
    mtu: mtu.optional(),
    mac: macAddress.optional(),
    nodad: nodad.optional(),
    vlan: vlan.optional().meta({ description: '802.1Q VLAN id of this namespace\'s macvlan (it sits on `<parent>.<vlan>`); inherits the node\'s, then the defaults\'. Without one, on the untagged parent.' }),
    routes: routes.optional(),
    dns: dns.optional(),
    search: search.optional(),
    sourceMacs: z
      .array(checkedString(checkMac, { pattern: MAC_PATTERN }))
      .min(1)
      .optional()
      .meta({ description: 'With mode "source": the sender MAC addresses this interface accepts traffic from.' }),
  })
  .meta({ description: 'A network namespace with one macvlan interface on the node\'s parent NIC.' });

const hostShim = z
  .strictObject({
    interface: interfaceName('Name of the host shim\'s macvlan interface (1-15 characters).', 'mac0'),
    address: perFamily(
      checkedString(checkInterfaceCidr, { description: 'A single-host address: IPv4 /32 or IPv6 /128.' }),
      'The other strategy: the shim gets this address of its own (/32, and a /128 beside it on a dual-stack node) and a host route to each namespace of this node, and the host address never leaves the parent (no guard, probes or confirm). Without it, the host address moves onto the shim.',
      ['192.168.179.250/32', ['192.168.179.250/32', '2001:db8:179::250/128']],
    ).optional(),
    mode: mode.optional().meta({ description: 'Mode of the shim, which is of the node\'s type: a macvlan mode (default bridge), or with type ipvlan the children\'s mode (only l2 carries the host address).', default: 'bridge' }),
    mtu: mtu.optional(),
    mac: macAddress.optional(),
    routes: routes.optional(),
    confirmTimeout: z
      .number()
      .int()
      .min(10)
      .max(86400)
      .optional()
      .meta({ description: 'Seconds to wait for `node.sh confirm` after the migration before reverting it.' }),
    probes: z
      .array(ipAddress('An address that must answer ping after the migration.'))
      .min(1)
      .optional()
      .meta({ description: 'Addresses that must answer after the migration; default: the node\'s gateway.' }),
  })
  .meta({
    description:
      'A macvlan sub-interface through which the host reaches its own namespaces: the host address moves onto it, or, with `address`, the shim gets an address of its own and the host address stays on the parent.',
  });

const node = z
  .strictObject({
    parent: interfaceName('The physical NIC the macvlan interfaces hang off (it is never brought down).', 'ens160'),
    address: interfaceCidrs('The host\'s own address on the parent NIC, with prefix length, or one IPv4 and one IPv6 address (dual stack).', [
      '192.168.179.9/16',
      '2001:db8:179::9/64',
    ]),
    gateway: gateways('The host\'s default gateway, at most one per family; an IPv4 one is required with a hostShim that moves the host address (one without `address`).').optional(),
    promisc: z.boolean().optional().meta({ description: 'Put the parent NIC in promiscuous mode; inherits the defaults\'.' }),
    type: linkType.optional(),
    mode: mode.optional().meta({ description: `The ${modeText}, for this node\'s namespaces; inherits the defaults\'.` }),
    mtu: mtu.optional(),
    nodad: nodad.optional(),
    vlan: vlan.optional().meta({ description: '802.1Q VLAN id for this node\'s namespaces (each on `<parent>.<vlan>`); inherits the defaults\'. The host address and host shim stay on the untagged parent.' }),
    hostShim: hostShim.optional(),
    ssh: sshSchema.optional(),
    namespaces: z
      .record(z.string(), namespace)
      .optional()
      .meta({ description: 'Network namespaces by name.', propertyNames: { pattern: NETNS_NAME_PATTERN, ...notReservedKey } }),
  })
  .meta({ description: 'One Linux node; its name is the generated script\'s file name.' });

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'JSON Schema reference, for editors.' }),
    version: z.literal(1).meta({ description: 'Config format version; must be 1.' }),
    defaults: z
      .strictObject({
        type: linkType.optional().meta({ default: 'macvlan' }),
        mode: mode.optional().meta({ description: `The ${modeText}; without one: bridge (macvlan), l2 (ipvlan).`, default: 'bridge' }),
        promisc: z.boolean().optional().meta({ description: 'Put each parent NIC in promiscuous mode.', default: true }),
        mtu: mtu.optional(),
        nodad: nodad.optional(),
        vlan: vlan.optional(),
        dns: dns.optional().meta({ description: 'Nameservers for every namespace that names none (see a namespace\'s "dns").' }),
        search: search.optional(),
        mac: z
          .enum(['auto', 'random'])
          .optional()
          .meta({
            description:
              'MAC of every macvlan interface (namespaces and host shims) that sets none: "auto" derives a stable one from the node and interface names, "random" lets the kernel choose on every apply. `init` writes "auto".',
            default: 'random',
          }),
        ssh: defaultsSshSchema.optional(),
      })
      .optional()
      .meta({ description: 'Values every node and namespace inherits unless it sets its own.' }),
    nodes: z
      .record(z.string(), node)
      .meta({ description: 'Nodes by name.', propertyNames: { pattern: NODE_NAME_PATTERN, ...notReservedKey }, minProperties: 1 }),
  })
  .meta({ title: 'macvlan-gen config', description: 'One file describing a group of Linux nodes and their macvlan networking.' });

/**
 * The same shapes cut at the two open-ended maps, so that validation can check the top, each node and each namespace
 * on its own: zod hands a subtree's issues up with one spread call, which overflows the stack past ~100k issues.
 */
export const shapeLayers = {
  top: configSchema.extend({ nodes: z.record(z.string(), z.unknown()) }),
  node: node.extend({ namespaces: z.record(z.string(), z.unknown()).optional() }),
  namespace,
};

export type Config = z.infer<typeof configSchema>;
export type NodeConfig = z.infer<typeof node>;
export type NamespaceConfig = z.infer<typeof namespace>;
export type HostShimConfig = z.infer<typeof hostShim>;
export type RouteConfig = z.infer<typeof route>;

export function configJsonSchema(): Record<string, unknown> {
  return { $id: SCHEMA_ID, ...z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input' }) };
}
