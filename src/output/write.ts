// writeOutput and readOutputDir: the only stage that touches the output directory. Inside it nothing follows a link:
// entries are lstat'ed, read with O_NOFOLLOW and written under fresh names opened with O_EXCL, then renamed.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import { EXTRA_FILES, isExtraFile, isOutputFileName, MANIFEST_FILE, sha256, type OutputFile } from './assemble.js';

export interface ExistingFile {
  content: string;
  mode: number;
}

const FS_REASONS = new Map([
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['ENOSPC', 'no space left on the device'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EFBIG', 'file too large'],
  ['EROFS', 'read-only file system'],
  ['ENOTDIR', 'not a directory'],
  ['EISDIR', 'it is a directory'],
  ['ELOOP', 'it is a symbolic link'],
  ['EEXIST', 'it already exists'],
  ['ENOENT', 'no such file or directory'],
  ['EMFILE', 'too many open files'],
  ['EIO', 'input/output error'],
]);

/** A failed file-system call as an EnvironmentError (exit 4) that names the path and what went wrong. */
function fsError(target: string, action: string, error: unknown, consequence = ''): EnvironmentError {
  const { code, message } = error as NodeJS.ErrnoException;
  return new EnvironmentError(`${target}: cannot ${action}: ${(code && FS_REASONS.get(code)) ?? message}${consequence}`);
}

function onPath<T>(target: string, action: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fsError(target, action, error);
  }
}

const lstatIfPresent = (target: string): Stats | undefined => onPath(target, 'inspect it', () => lstatSync(target, { throwIfNoEntry: false }));

function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

const listed = (items: string[]): string => (items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', '));

/** Refuses, naming each, entries where a file of ours belongs that are not regular files: never followed, never replaced. */
function refuseIrregular(directory: string, names: readonly string[]): void {
  const irregular = names.flatMap((name) => {
    const target = path.join(directory, name);
    const stats = lstatIfPresent(target);
    return stats && !stats.isFile() ? [`${target} is ${describeKind(stats)}`] : [];
  });
  if (irregular.length === 0) return;
  const [what, them] = irregular.length === 1 ? ['a regular file', 'it'] : ['regular files', 'them'];
  throw new EnvironmentError(`${listed(irregular)}, not ${what}; macvlan-gen neither follows nor replaces such entries: move ${them} away or choose another --out-dir`);
}

/** A regular file's content, opened without following a link (and without blocking on a pipe put there meanwhile). */
function readRegularFile(target: string): ExistingFile {
  const fd = onPath(target, 'open it', () => openSync(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK));
  try {
    const stats = onPath(target, 'inspect it', () => fstatSync(fd));
    if (!stats.isFile()) throw new EnvironmentError(`${target} is ${describeKind(stats)}, not a regular file`);
    return { content: onPath(target, 'read it', () => readFileSync(fd, 'utf8')), mode: stats.mode & 0o777 };
  } finally {
    closeSync(fd);
  }
}

interface PreviousRun {
  /** The files it lists that this tool could have written. */
  files: Set<string>;
  /** Its scripts (and extra files: Ansible, the picture) with the SHA-256 each had when written. */
  scripts: Map<string, string>;
}

/** What the manifest of an earlier run claims; names this tool could not have written are ignored. */
function readPreviousRun(directory: string): PreviousRun {
  const manifestPath = path.join(directory, MANIFEST_FILE);
  const none: PreviousRun = { files: new Set(), scripts: new Map() };
  if (!lstatIfPresent(manifestPath)?.isFile()) return none;
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(readRegularFile(manifestPath).content) as typeof manifest;
  } catch (error) {
    if (error instanceof SyntaxError) return none;
    throw error;
  }
  if (manifest.generator !== 'macvlan-gen' || !Array.isArray(manifest.files)) return none;
  const files = new Set(manifest.files.filter((name): name is string => typeof name === 'string' && isOutputFileName(name)));
  const scripts = new Map<string, string>();
  const listed = ['nodes', ...Object.keys(EXTRA_FILES)].flatMap((key) => {
    const entries = manifest[key];
    return Array.isArray(entries) ? (entries as unknown[]) : [];
  });
  for (const entry of listed) {
    const { file, sha256: sum } = (entry ?? {}) as { file?: unknown; sha256?: unknown };
    if (typeof file === 'string' && files.has(file) && (file.endsWith('.sh') || isExtraFile(file)) && typeof sum === 'string') scripts.set(file, sum);
  }
  return { files, scripts };
}

/** Files an earlier run of ours wrote here, as its manifest lists them, limited to names this tool could have written. */
export function previousOutputFiles(directory: string): Set<string> {
  return readPreviousRun(directory).files;
}

/**
 * The regular files of a directory, read without following links; other entries are skipped, except that an `expected`
 * name (one the config generates) that is not a regular file is refused.
 */
export function readOutputDir(directory: string, expected: readonly string[] = []): Map<string, ExistingFile> {
  const files = new Map<string, ExistingFile>();
  if (!lstatIfPresent(directory)) return files;
  refuseIrregular(directory, expected);
  for (const entry of onPath(directory, 'list it', () => readdirSync(directory, { withFileTypes: true }))) {
    if (entry.isFile()) files.set(entry.name, readRegularFile(path.join(directory, entry.name)));
  }
  return files;
}

/** Writes a file under an unpredictable name, created exclusively and never through a link; returns that name. */
function writeTemporary(directory: string, file: OutputFile): string {
  const temporary = path.join(directory, `.${file.name}.${randomBytes(8).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, flags, 0o600);
    writeFileSync(fd, file.content);
    fchmodSync(fd, file.mode);
    return temporary;
  } catch (error) {
    if (fd !== undefined) rmSync(temporary, { force: true });
    throw fsError(path.join(directory, file.name), 'write it', error, ' (nothing in the directory was changed)');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface WriteResult {
  written: string[];
  /** Scripts (and extra files) only an earlier run wrote, unchanged since, that the config (or flags) no longer generate. */
  removed: string[];
  /** Scripts an earlier run listed that the config no longer generates, left because they differ from what it wrote. */
  kept: string[];
}

/** Removes an earlier run's script that is no longer generated, only if it is still a regular file holding what was written. */
function removeStale(directory: string, name: string, writtenSha256: string): 'removed' | 'kept' | 'absent' {
  const target = path.join(directory, name);
  const stats = lstatIfPresent(target);
  if (!stats) return 'absent';
  if (!stats.isFile() || sha256(readRegularFile(target).content) !== writtenSha256) return 'kept';
  onPath(target, 'remove it', () => unlinkSync(target));
  return 'removed';
}

/**
 * Writes every file in the order given (manifest.json comes last): first each to a temporary file, then, once all are
 * written, renames them into place, so a failure leaves the directory as it was. Refuses, before writing anything,
 * entries that are not regular files and (unless forced) files we did not write. Then removes scripts only an earlier
 * run of ours wrote. `names` lists the files beforehand, so `files` may be produced while they are written.
 */
export function writeOutput(directory: string, names: string[], files: Iterable<OutputFile>, options: { force?: boolean } = {}): WriteResult {
  // The directory itself is the operator's choice and may be reached through a link; nothing inside it is.
  const directoryStats = onPath(directory, 'inspect it', () => statSync(directory, { throwIfNoEntry: false }));
  if (directoryStats && !directoryStats.isDirectory()) throw new EnvironmentError(`${directory} exists and is not a directory`);
  if (directoryStats) refuseIrregular(directory, names);
  const previous = readPreviousRun(directory);
  const foreign = names.filter((name) => lstatIfPresent(path.join(directory, name)) && !previous.files.has(name));
  if (foreign.length > 0 && options.force !== true) {
    throw new EnvironmentError(
      `${directory} already has ${listed(foreign)}, not written by macvlan-gen (not in its ${MANIFEST_FILE}); move them away, choose another --out-dir, or pass --force to replace them`,
    );
  }
  onPath(directory, 'create it', () => mkdirSync(directory, { recursive: true }));

  const staged: { name: string; temporary: string }[] = [];
  const discardStaged = (from: number): void => staged.slice(from).forEach(({ temporary }) => rmSync(temporary, { force: true }));
  try {
    for (const file of files) staged.push({ name: file.name, temporary: writeTemporary(directory, file) });
  } catch (error) {
    discardStaged(0);
    throw error;
  }
  for (const [i, { name, temporary }] of staged.entries()) {
    const target = path.join(directory, name);
    try {
      renameSync(temporary, target);
    } catch (error) {
      discardStaged(i);
      throw fsError(target, 'replace it', error, ` (${i} of ${staged.length} files were already replaced; run generate again)`);
    }
  }

  const written = staged.map(({ name }) => name);
  const current = new Set(written);
  const result: WriteResult = { written: written.sort(), removed: [], kept: [] };
  for (const [name, writtenSha256] of [...previous.scripts].sort(([a], [b]) => a.localeCompare(b, 'en'))) {
    if (current.has(name)) continue;
    const outcome = removeStale(directory, name, writtenSha256);
    if (outcome !== 'absent') result[outcome].push(name);
  }
  return result;
}

/** Writes one file whole or not at all (its folder made if missing): a temporary file beside it, renamed over it. */
export function writeFileAtomically(target: string, content: string, mode = 0o644): void {
  const directory = path.dirname(target);
  onPath(directory, 'create it', () => mkdirSync(directory, { recursive: true }));
  const temporary = writeTemporary(directory, { name: path.basename(target), content, mode });
  try {
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw fsError(target, 'write it', error, ' (it was left as it was)');
  }
}

/** Replaces the .txt files of a directory with the given ones (a folder of generated text, such as transcripts). */
export function writeTextFiles(directory: string, files: { name: string; content: string }[]): string[] {
  mkdirSync(directory, { recursive: true });
  for (const name of readdirSync(directory).filter((file) => file.endsWith('.txt'))) rmSync(path.join(directory, name));
  for (const file of files) writeFileSync(path.join(directory, file.name), file.content);
  return files.map((file) => file.name);
}
