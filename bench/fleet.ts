// Configs of any size, for the benchmarks.
import { stringify } from 'yaml';

export interface FleetShape {
  nodes: number;
  namespaces: number;
  /** Move each host address onto a shim. */
  shim?: boolean;
}

/** nodes x namespaces on one /16 (10.50.0.0/16), every namespace with a default route. */
export function fleetConfig({ nodes, namespaces, shim = false }: FleetShape): string {
  const hostOctet = (n: number) => [Math.floor((n + 1) / 250) + 1, ((n + 1) % 250) + 1];
  const config = {
    version: 1,
    nodes: Object.fromEntries(
      Array.from({ length: nodes }, (_, n) => {
        const [a, b] = hostOctet(n);
        return [
          `node${n + 1}`,
          {
            parent: 'eth0',
            address: `10.${50 + (a ?? 0)}.${b}.1/8`,
            gateway: '10.0.0.1',
            ...(shim && { hostShim: { interface: 'shim0' } }),
            namespaces: Object.fromEntries(
              Array.from({ length: namespaces }, (_, i) => [
                `ns${i + 1}`,
                { interface: `mv${i + 1}`, address: `10.${50 + (a ?? 0)}.${b}.${i + 2}/8`, gateway: '10.0.0.1' },
              ]),
            ),
          },
        ];
      }),
    ),
  };
  return stringify(config);
}
