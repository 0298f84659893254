// lintScripts: shellcheck (all optional checks, style and up) and `bash -n` over generated scripts, in parallel, each
// script only once for its content: an unchanged script's findings come from the cache.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { EnvironmentError } from '../errors.js';
import { runProcess, type ProcessResult } from '../process.js';
import { lintCacheKey, type LintCache, type ScriptFinding } from './cache.js';
import type { LintProgressCount } from './progress.js';
import { npmShellcheckWrapper, shellcheckCommand } from './shellcheck.js';

/** --norc: no .shellcheckrc changes the result, which then depends on the script alone, wherever it sits. */
export const SHELLCHECK_ARGS = ['--shell=bash', '--severity=style', '--enable=all', '--norc', '--format=json1'];

export interface LintFinding extends ScriptFinding {
  file: string;
}

interface ShellcheckComment {
  file: string;
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

export interface LintOptions {
  /** Where findings of scripts linted before are kept; without it every script is linted and nothing is kept. */
  cache?: LintCache | undefined;
  /** Told the count after the cache is read and after each batch of scripts. */
  onProgress?: ((count: LintProgressCount) => void) | undefined;
}

/** Scripts per shellcheck process: few enough that the cores share the work evenly and progress moves often. */
const BATCH_SIZE = 4;

const INSTALL_SHELLCHECK = 'install it (apt-get install shellcheck) or set SHELLCHECKJS_BIN to its path';

async function runShellcheck(args: string[]): Promise<ProcessResult> {
  const shellcheck = shellcheckCommand(process.env, npmShellcheckWrapper());
  if (shellcheck === undefined) throw new EnvironmentError(`shellcheck is not installed and no npm shellcheck package is here to download it; ${INSTALL_SHELLCHECK}`);
  try {
    return await runProcess(shellcheck.command, [...shellcheck.args, ...args]);
  } catch (error) {
    throw new EnvironmentError(`shellcheck could not start (${shellcheck.command}: ${(error as Error).message}); ${INSTALL_SHELLCHECK}`);
  }
}

function shellcheckFailed(result: ProcessResult): EnvironmentError {
  const detail = result.stderr.trim().split('\n').slice(0, 3).join(' ');
  return new EnvironmentError(`shellcheck could not run (${detail || `exit ${String(result.status)}`}); ${INSTALL_SHELLCHECK}`);
}

/** Exit 0 (clean) or 1 (findings) with its JSON report is a run that did its work; anything else is not, and is never cached. */
async function shellcheckFiles(files: string[]): Promise<Map<string, ScriptFinding[]>> {
  const result = await runShellcheck([...SHELLCHECK_ARGS, '--', ...files]);
  let parsed: { comments: ShellcheckComment[] };
  try {
    if (result.status !== 0 && result.status !== 1) throw shellcheckFailed(result);
    parsed = JSON.parse(result.stdout) as { comments: ShellcheckComment[] };
  } catch {
    throw shellcheckFailed(result);
  }
  const byFile = new Map(files.map((file) => [file, [] as ScriptFinding[]]));
  for (const c of parsed.comments) {
    const own = byFile.get(c.file);
    if (own === undefined) throw new Error(`shellcheck reported on ${c.file}, which it was not given`);
    own.push({ line: c.line, column: c.column, level: c.level, code: `SC${c.code}`, message: c.message });
  }
  return byFile;
}

/** Each file's messages end with a NUL, so that they are told apart without guessing where a path ends. */
const BASH_SYNTAX_CHECK = 'for file in "$@"; do bash -n -- "$file" 2>&1; printf "\\0"; done';

async function bashSyntaxFiles(files: string[]): Promise<Map<string, ScriptFinding[]>> {
  const result = await runProcess('bash', ['-c', BASH_SYNTAX_CHECK, 'bash-n', ...files]);
  const outputs = result.stdout.split('\0');
  return new Map(
    files.map((file, index) => {
      const lines = (outputs[index] ?? '').split('\n').filter((line) => line !== '');
      const findings = lines.map((line) => {
        const match = /^(\d+): (.*)$/.exec(line.startsWith(`${file}: line `) ? line.slice(`${file}: line `.length) : '');
        return { line: Number(match?.[1] ?? 0), column: 1, level: 'error', code: 'bash-n', message: match?.[2] ?? line };
      });
      return [file, findings];
    }),
  );
}

async function lintBatch(files: string[]): Promise<Map<string, ScriptFinding[]>> {
  const [shellcheck, bash] = await Promise.all([shellcheckFiles(files), bashSyntaxFiles(files)]);
  return new Map(files.map((file) => [file, [...(shellcheck.get(file) ?? []), ...(bash.get(file) ?? [])]]));
}

/**
 * Everything besides a script's bytes that decides its findings, asked once per run: shellcheck's version and
 * options (SHELLCHECK_OPTS too, which shellcheck reads), the bash -n check and bash's version.
 */
async function lintToolIdentity(): Promise<string> {
  const [shellcheck, bash] = await Promise.all([runShellcheck(['--version']), runProcess('bash', ['-c', 'printf %s "${BASH_VERSION}"'])]);
  if (shellcheck.status !== 0) throw shellcheckFailed(shellcheck);
  return JSON.stringify({
    entry: 1,
    shellcheck: shellcheck.stdout,
    shellcheckArgs: SHELLCHECK_ARGS,
    shellcheckOpts: process.env['SHELLCHECK_OPTS'] ?? '',
    bash: bash.stdout,
    bashCheck: BASH_SYNTAX_CHECK,
  });
}

/** Runs the batches on `workers` at a time, each worker taking the next batch as it finishes one. */
async function runBatches(batches: string[][], workers: number, onDone: (batch: string[], findings: Map<string, ScriptFinding[]>) => void): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < batches.length) {
      const batch = batches[next++] ?? [];
      try {
        onDone(batch, await lintBatch(batch));
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, batches.length) }, worker));
}

function batchesOf<T>(items: T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}

/** One script content of the run: where it sits (the first path is the one linted) and its entry in the cache. */
interface Content {
  files: string[];
  key: string;
  findings?: ScriptFinding[] | undefined;
}

export async function lintScripts(files: string[], options: LintOptions = {}): Promise<LintFinding[]> {
  if (files.length === 0) return [];
  const { cache, onProgress } = options;
  const identity = cache === undefined ? '' : await lintToolIdentity();
  const contents = new Map<string, Content>();
  for (const file of files) {
    const bytes = readFileSync(file);
    const key = cache === undefined ? createHash('sha256').update(bytes).digest('hex') : lintCacheKey(identity, bytes);
    const content = contents.get(key) ?? { files: [], key, findings: cache?.read(key) };
    content.files.push(file);
    contents.set(key, content);
  }
  const toLint = new Map([...contents.values()].filter((content) => content.findings === undefined).map((content) => [content.files[0] ?? '', content]));
  const cached = files.length - [...toLint.values()].reduce((sum, content) => sum + content.files.length, 0);
  const count: LintProgressCount = { done: cached, total: files.length, cached };
  onProgress?.({ ...count });
  const workers = availableParallelism();
  const batchSize = Math.max(1, Math.min(BATCH_SIZE, Math.ceil(toLint.size / workers)));
  await runBatches(batchesOf([...toLint.keys()], batchSize), workers, (batch, findings) => {
    for (const file of batch) {
      const content = toLint.get(file);
      if (content === undefined) continue;
      content.findings = findings.get(file) ?? [];
      cache?.write(content.key, content.findings);
      count.done += content.files.length;
    }
    onProgress?.({ ...count });
  });
  cache?.prune();
  return [...contents.values()]
    .flatMap((content) => content.files.flatMap((file) => (content.findings ?? []).map((finding) => ({ file, ...finding }))))
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
