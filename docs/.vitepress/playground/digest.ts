// src/output/digest.ts for the browser: the same SHA-256, from @noble/hashes instead of node:crypto.
import { sha256 as digest } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export function sha256(content: string): string {
  return bytesToHex(digest(utf8ToBytes(content)));
}
