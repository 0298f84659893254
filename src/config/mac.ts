// Deterministic MACs for `mac: auto`: the same node and interface always get the same locally administered address.
const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

function fnv1a64(text: string): bigint {
  let hash = FNV64_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  }
  return hash;
}

/** Locally administered (bit 1 set), unicast (bit 0 clear) MAC derived from the node and the owner's name. */
export function deriveMac(nodeName: string, ownerName: string): string {
  const hash = fnv1a64(`macvlan-gen\0${nodeName}\0${ownerName}`);
  const octets = Array.from({ length: 6 }, (_, i) => Number((hash >> BigInt(8 * (5 - i))) & 0xffn));
  octets[0] = ((octets[0] ?? 0) & 0xfc) | 0x02;
  return octets.map((octet) => octet.toString(16).padStart(2, '0')).join(':');
}
