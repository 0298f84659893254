// assembleOutput: rendered scripts -> the full, deterministic set of output files (scripts, SHA256SUMS, manifest.json).
import { ANSIBLE_FILES } from '../ansible/names.js';
import { DIAGRAM_FILE } from '../diagram/names.js';
import { checkNodeName } from '../config/rules.js';
import { sha256 } from './digest.js';

export { sha256 };

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

/** The files a flag of `generate` adds beside the scripts, by the manifest key that lists them (in this order). */
export const EXTRA_FILES: Readonly<Record<'ansible' | 'diagram', readonly string[]>> = { ansible: ANSIBLE_FILES, diagram: [DIAGRAM_FILE] };

export const isExtraFile = (name: string): boolean => Object.values(EXTRA_FILES).some((names) => names.includes(name));

export interface Manifest {
  generator: string;
  version: string;
  configSha256: string;
  nodes: { name: string; file: string; sha256: string }[];
  /** `generate --ansible`: the inventory and playbooks, with the SHA-256 each had when written. */
  ansible?: { file: string; sha256: string }[];
  /** `generate --diagram`: the topology picture, with the SHA-256 it had when written. */
  diagram?: { file: string; sha256: string }[];
  /** Every file this run wrote, so the next run knows what it may replace or remove. */
  files: string[];
}

/** One line of a SHA256SUMS file, as `sha256sum` writes and `sha256sum -c` reads it. */
export const checksumLine = (sum: string, name: string): string => `${sum}  ${name}\n`;

export interface ScriptEntry {
  node: string;
  file: string;
  sha256: string;
}

export const scriptFile = (node: string, content: string): OutputFile => ({ name: `${node}.sh`, content, mode: SCRIPT_MODE });

/** A name this tool could have written: a valid node's script, SHA256SUMS, manifest.json or an extra file (never a path). */
export function isOutputFileName(name: string): boolean {
  if (name === CHECKSUMS_FILE || name === MANIFEST_FILE || isExtraFile(name)) return true;
  return name.endsWith('.sh') && checkNodeName(name.slice(0, -'.sh'.length)) === undefined;
}

/**
 * SHA256SUMS and manifest.json, for scripts already hashed (so the scripts need not be kept in memory) and for the
 * other files written with them (the Ansible files, the topology picture), which both list, each kind under its key.
 */
export function indexFiles(entries: ScriptEntry[], meta: { name: string; version: string; configSha256: string }, others: OutputFile[] = []): OutputFile[] {
  const otherSums = others.map((file) => ({ file: file.name, sha256: sha256(file.content) }));
  const extras = Object.entries(EXTRA_FILES).flatMap(([kind, names]) => {
    const listed = otherSums.filter((entry) => names.includes(entry.file));
    return listed.length > 0 ? [[kind, listed] as const] : [];
  });
  const unlisted = others.filter((file) => !isExtraFile(file.name));
  if (unlisted.length > 0) throw new Error(`no manifest key for ${unlisted.map((file) => file.name).join(', ')}`);
  const manifest: Manifest = {
    generator: meta.name,
    version: meta.version,
    configSha256: meta.configSha256,
    nodes: entries.map(({ node, file, sha256: sum }) => ({ name: node, file, sha256: sum })),
    ...Object.fromEntries(extras),
    files: [...entries.map((entry) => entry.file), ...otherSums.map((entry) => entry.file), MANIFEST_FILE, CHECKSUMS_FILE].sort(),
  };
  const manifestFile = { name: MANIFEST_FILE, content: `${JSON.stringify(manifest, null, 2)}\n`, mode: DATA_MODE };
  const summed = [
    ...entries.map(({ file, sha256: sum }) => ({ name: file, sum })),
    ...otherSums.map(({ file, sha256: sum }) => ({ name: file, sum })),
    { name: MANIFEST_FILE, sum: sha256(manifestFile.content) },
  ];
  const checksums = summed
    .sort((a, b) => a.name.localeCompare(b.name, 'en'))
    .map(({ name, sum }) => checksumLine(sum, name))
    .join('');
  return [{ name: CHECKSUMS_FILE, content: checksums, mode: DATA_MODE }, manifestFile];
}

/** Every output file, scripts rendered one at a time, then the other files, then the index files, manifest.json last. */
export function* outputFiles(
  scripts: Iterable<{ node: string; content: string }>,
  meta: { name: string; version: string; configSha256: string },
  others: OutputFile[] = [],
): Generator<OutputFile> {
  const entries: ScriptEntry[] = [];
  for (const { node, content } of scripts) {
    const file = scriptFile(node, content);
    entries.push({ node, file: file.name, sha256: sha256(content) });
    yield file;
  }
  yield* others;
  yield* indexFiles(entries, meta, others);
}

export function assembleOutput(
  scripts: { node: string; content: string }[],
  meta: { name: string; version: string; configSha256: string },
  others: OutputFile[] = [],
): OutputFile[] {
  return [...outputFiles(scripts, meta, others)];
}
