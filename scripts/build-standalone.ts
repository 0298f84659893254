// The standalone build for air-gapped generation hosts: dist/cli.js and everything it imports in one ES module that
// runs with plain `node` (>= 20) and no node_modules. The package's own files (package.json, templates, the seed
// example) go inside it, in place of src/package-files.ts, which reads them from disk.
// `npm run build:standalone` writes dist/standalone/macvlan-gen.mjs; the docs site publishes it with its SHA256.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { embeddedPackageFilesModule } from '../src/package-files.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STANDALONE_NAME = 'macvlan-gen.mjs';
export const STANDALONE_FILE = path.join(ROOT, 'dist', 'standalone', STANDALONE_NAME);

/** Serves dist/package-files.js from the files read now, as a module with the same export. */
const embedPackageFiles: Plugin = {
  name: 'embed-package-files',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\/package-files\.js$/ }, () => ({ path: 'package-files', namespace: 'embedded' }));
    esbuild.onLoad({ filter: /.*/, namespace: 'embedded' }, () => ({
      contents: embeddedPackageFilesModule(),
      loader: 'js',
    }));
  },
};

export interface Standalone {
  content: Buffer;
  sha256: string;
}

/** Bundles the built CLI (run `npm run build` first); deterministic for the same sources and dependencies. */
export async function buildStandalone(): Promise<Standalone> {
  const result = await build({
    entryPoints: [path.join(ROOT, 'dist', 'cli.js')],
    // The paths in its comments are relative to this, not to where the build was started.
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    outfile: STANDALONE_FILE,
    logLevel: 'warning',
    legalComments: 'eof',
    // The CommonJS dependencies bundled into this ES module still call require() for node's own modules.
    banner: { js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);" },
    plugins: [embedPackageFiles],
  });
  const output = result.outputFiles.find((file) => file.path === STANDALONE_FILE);
  if (output === undefined) throw new Error(`esbuild wrote no ${STANDALONE_FILE}`);
  const content = Buffer.from(output.contents);
  return { content, sha256: createHash('sha256').update(content).digest('hex') };
}

/** Writes the standalone file, executable, at `file`. */
export function writeStandalone(standalone: Standalone, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, standalone.content);
  chmodSync(file, 0o755);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const standalone = await buildStandalone();
  writeStandalone(standalone, STANDALONE_FILE);
  console.log(`wrote ${path.relative(process.cwd(), STANDALONE_FILE)} (${standalone.content.length} bytes, sha256 ${standalone.sha256})`);
}
