// writeOutput and readOutputDir: the only stage that touches the output directory.
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import { MANIFEST_FILE, type OutputFile } from './assemble.js';

const PLAIN_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export interface ExistingFile {
  content: string;
  mode: number;
}

/** Files an earlier run of ours wrote here, as its manifest lists them; names that could leave the directory are ignored. */
export function previousOutputFiles(directory: string): Set<string> {
  const manifestPath = path.join(directory, MANIFEST_FILE);
  if (!existsSync(manifestPath)) return new Set();
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { generator?: unknown; files?: unknown };
    if (manifest.generator !== 'macvlan-gen' || !Array.isArray(manifest.files)) return new Set();
    return new Set(manifest.files.filter((name): name is string => typeof name === 'string' && PLAIN_FILE_NAME.test(name)));
  } catch {
    return new Set();
  }
}

export function readOutputDir(directory: string): Map<string, ExistingFile> {
  const files = new Map<string, ExistingFile>();
  if (!existsSync(directory)) return files;
  for (const name of readdirSync(directory)) {
    const filePath = path.join(directory, name);
    const stat = statSync(filePath);
    if (stat.isFile()) files.set(name, { content: readFileSync(filePath, 'utf8'), mode: stat.mode & 0o777 });
  }
  return files;
}

export interface WriteResult {
  written: string[];
  removed: string[];
}

/**
 * Writes every file through a temporary name and a rename, in the order given (manifest.json comes last), then
 * removes files that only an earlier run of ours wrote. Refuses, before writing anything, to replace a file we did not
 * write, unless forced. `names` lists the files beforehand, so `files` may be produced while they are written.
 */
export function writeOutput(directory: string, names: string[], files: Iterable<OutputFile>, options: { force?: boolean } = {}): WriteResult {
  if (existsSync(directory) && !statSync(directory).isDirectory()) {
    throw new EnvironmentError(`${directory} exists and is not a directory`);
  }
  const previous = previousOutputFiles(directory);
  const foreign = names.filter((name) => existsSync(path.join(directory, name)) && !previous.has(name));
  if (foreign.length > 0 && options.force !== true) {
    const shown = foreign.length > 5 ? `${foreign.slice(0, 5).join(', ')} and ${foreign.length - 5} more` : foreign.join(', ');
    throw new EnvironmentError(
      `${directory} already has ${shown}, not written by macvlan-gen (not in its ${MANIFEST_FILE}); move them away, choose another --out-dir, or pass --force to replace them`,
    );
  }
  mkdirSync(directory, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    const target = path.join(directory, file.name);
    const temporary = path.join(directory, `.${file.name}.${process.pid}.tmp`);
    writeFileSync(temporary, file.content, { mode: file.mode });
    chmodSync(temporary, file.mode);
    renameSync(temporary, target);
    written.push(file.name);
  }
  const current = new Set(written);
  const removed = [...previous].filter((name) => !current.has(name)).sort();
  for (const name of removed) rmSync(path.join(directory, name), { force: true });
  return { written: written.sort(), removed };
}

/** Replaces the .txt files of a directory with the given ones (a folder of generated text, such as transcripts). */
export function writeTextFiles(directory: string, files: { name: string; content: string }[]): string[] {
  mkdirSync(directory, { recursive: true });
  for (const name of readdirSync(directory).filter((file) => file.endsWith('.txt'))) rmSync(path.join(directory, name));
  for (const file of files) writeFileSync(path.join(directory, file.name), file.content);
  return files.map((file) => file.name);
}
