// The render core in the browser: a Vite plugin that swaps its two Node-only modules, src/package-files.ts (the
// package's templates and seed, read from disk) and src/output/digest.ts (node:crypto), for browser ones: the files
// embedded as they are at build time, and SHA-256 from @noble/hashes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFiles } from '../../../src/package-files.js';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const EMBEDDED = '\0macvlan-gen-package-files';

/** A Vite plugin (typed by its shape: the site's Vite is VitePress's own, not the one vitest brings). */
export function renderCoreInBrowser() {
  return {
    name: 'macvlan-gen-render-core-in-browser',
    enforce: 'pre' as const,
    resolveId(source: string, importer: string | undefined): string | null {
      if (importer === undefined || !path.resolve(path.dirname(importer)).startsWith(SRC)) return null;
      if (source === './package-files.js') return EMBEDDED;
      if (source === './digest.js' && path.dirname(importer) === path.join(SRC, 'output')) return fileURLToPath(new URL('./digest.ts', import.meta.url));
      return null;
    },
    load(id: string): string | null {
      if (id !== EMBEDDED) return null;
      return `const files = new Map(Object.entries(${JSON.stringify(Object.fromEntries(packageFiles()))}));\nexport const packageFiles = () => files;\n`;
    },
  };
}
