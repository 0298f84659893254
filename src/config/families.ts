// Addresses and gateways come as one value or a list: at most one gateway and host address of each family (dual
// stack); a namespace may have several addresses of a family, the first of which is its primary.
import { familyOf, type Family } from '../ip.js';

/** The values of a field that takes one value or a list, as a list. */
export function listOf(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/** The field's (first) value of one family. */
export function ofFamily(value: string | readonly string[] | undefined, family: Family): string | undefined {
  return listOf(value).find((item) => familyOf(item) === family);
}

/** The values after the first of each family: a namespace's further addresses. */
export function beyondFirstOfFamily(value: string | readonly string[]): string[] {
  const firsts = new Set([ofFamily(value, 4), ofFamily(value, 6)]);
  return listOf(value).filter((item) => !firsts.has(item));
}

/** The IPv4 one, which validation requires of every address field. */
export function ipv4Of(value: string | readonly string[]): string {
  const found = ofFamily(value, 4);
  if (found === undefined) throw new Error(`internal: no IPv4 address in ${listOf(value).join(', ')}`);
  return found;
}
