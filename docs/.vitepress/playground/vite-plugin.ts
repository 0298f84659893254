// The render core in the browser: a Vite plugin that swaps its two Node-only modules, src/package-files.ts (the
// package's templates and seed, read from disk) and src/output/digest.ts (node:crypto), for browser ones: the files
// embedded as they are at build time, and SHA-256 from @noble/hashes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedPackageFilesModule } from '../../../src/package-files.js';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const EMBEDDED = '\0macvlan-gen-package-files';
/** Each module swapped, by the path of its compiled name as imported (./x.js), with what takes its place. */
const SWAPS = new Map([
  [path.join(SRC, 'package-files.js'), EMBEDDED],
  [path.join(SRC, 'output', 'digest.js'), fileURLToPath(new URL('./digest.ts', import.meta.url))],
]);

/** A Vite plugin (typed by its shape: the site's Vite is VitePress's own, not the one vitest brings). */
export function renderCoreInBrowser() {
  return {
    name: 'macvlan-gen-render-core-in-browser',
    enforce: 'pre' as const,
    resolveId(source: string, importer: string | undefined): string | null {
      if (importer === undefined || !source.startsWith('.')) return null;
      return SWAPS.get(path.resolve(path.dirname(importer), source)) ?? null;
    },
    load(id: string): string | null {
      if (id !== EMBEDDED) return null;
      return embeddedPackageFilesModule();
    },
  };
}
