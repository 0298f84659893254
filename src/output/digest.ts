// The SHA-256 of the generated files and the config. Node's own, for speed; the docs site's playground swaps this
// module for a browser one (docs/.vitepress/playground/digest.ts), as it swaps src/package-files.ts for the files
// embedded: the two Node-only imports of the render core.
import { createHash } from 'node:crypto';

export function sha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}
