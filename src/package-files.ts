// The package's own files that the CLI reads at run time (package.json, the templates, the seed example), by path
// relative to the package root, read from disk next to this module (same depth in src/ and dist/). The standalone build
// (scripts/build-standalone.ts) puts a module holding the same files in this one's place.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Files, or folders taken whole. */
const RUNTIME_PATHS = ['package.json', 'examples/seed.yaml', 'templates'];

function readTree(relative: string): [string, string][] {
  const full = path.join(PACKAGE_ROOT, relative);
  if (!statSync(full).isDirectory()) return [[relative, readFileSync(full, 'utf8')]];
  return readdirSync(full)
    .sort()
    .flatMap((name) => readTree(`${relative}/${name}`));
}

let files: ReadonlyMap<string, string> | undefined;

export function packageFiles(): ReadonlyMap<string, string> {
  files ??= new Map(RUNTIME_PATHS.flatMap(readTree));
  return files;
}

/** The same files as an ES module's text with the same export, for builds that cannot read them at run time. */
export function embeddedPackageFilesModule(): string {
  return `const files = new Map(Object.entries(${JSON.stringify(Object.fromEntries(packageFiles()))}));\nexport const packageFiles = () => files;\n`;
}
