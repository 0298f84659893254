// assembleOutput: rendered scripts -> the full, deterministic set of output files (scripts, SHA256SUMS, manifest.json).
import { createHash } from 'node:crypto';

export const MANIFEST_FILE = 'manifest.json';
export const CHECKSUMS_FILE = 'SHA256SUMS';
export const SCRIPT_MODE = 0o755;
export const DATA_MODE = 0o644;

export interface OutputFile {
  /** A plain file name inside the output directory. */
  name: string;
  content: string;
  mode: number;
}

export interface Manifest {
  generator: string;
  version: string;
  configSha256: string;
  nodes: { name: string; file: string; sha256: string }[];
  /** Every file this run wrote, so the next run knows what it may replace or remove. */
  files: string[];
}

export function sha256(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

export function assembleOutput(
  scripts: { node: string; content: string }[],
  meta: { name: string; version: string; configSha256: string },
): OutputFile[] {
  const scriptFiles = scripts.map(({ node, content }) => ({ name: `${node}.sh`, content, mode: SCRIPT_MODE }));
  const names = [...scriptFiles.map((file) => file.name), MANIFEST_FILE, CHECKSUMS_FILE].sort();
  const manifest: Manifest = {
    generator: meta.name,
    version: meta.version,
    configSha256: meta.configSha256,
    nodes: scripts.map(({ node, content }) => ({ name: node, file: `${node}.sh`, sha256: sha256(content) })),
    files: names,
  };
  const manifestFile = { name: MANIFEST_FILE, content: `${JSON.stringify(manifest, null, 2)}\n`, mode: DATA_MODE };
  const summed = [...scriptFiles, manifestFile].sort((a, b) => a.name.localeCompare(b.name, 'en'));
  const checksums = summed.map((file) => `${sha256(file.content)}  ${file.name}\n`).join('');
  return [...summed, { name: CHECKSUMS_FILE, content: checksums, mode: DATA_MODE }];
}
