// Addresses and gateways come as one value or a list with at most one of each family (dual stack).
import { familyOf, type Family } from '../ip.js';

/** The values of a field that takes one value or a list, as a list. */
export function listOf(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

/** The field's value of one family; validation leaves at most one. */
export function ofFamily(value: string | readonly string[] | undefined, family: Family): string | undefined {
  return listOf(value).find((item) => familyOf(item) === family);
}

/** The IPv4 one, which validation requires of every address field. */
export function ipv4Of(value: string | readonly string[]): string {
  const found = ofFamily(value, 4);
  if (found === undefined) throw new Error(`internal: no IPv4 address in ${listOf(value).join(', ')}`);
  return found;
}
