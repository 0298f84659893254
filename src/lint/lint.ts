// lintScripts: shellcheck (all optional checks, style and up) and `bash -n` over generated scripts, in parallel.
import { availableParallelism } from 'node:os';
import { EnvironmentError } from '../errors.js';
import { runProcess, type ProcessResult } from '../process.js';
import { npmShellcheckWrapper, shellcheckCommand } from './shellcheck.js';

export const SHELLCHECK_ARGS = ['--shell=bash', '--severity=style', '--enable=all', '--format=json1'];

export interface LintFinding {
  file: string;
  line: number;
  column: number;
  level: string;
  code: string;
  message: string;
}

interface ShellcheckComment {
  file: string;
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

function chunk<T>(items: T[], count: number): T[][] {
  const size = Math.ceil(items.length / Math.max(1, count));
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

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

async function shellcheckFiles(files: string[]): Promise<LintFinding[]> {
  const result = await runShellcheck([...SHELLCHECK_ARGS, '--', ...files]);
  let parsed: { comments: ShellcheckComment[] };
  try {
    parsed = JSON.parse(result.stdout) as { comments: ShellcheckComment[] };
  } catch {
    const detail = result.stderr.trim().split('\n').slice(0, 3).join(' ');
    throw new EnvironmentError(`shellcheck could not run (${detail || `exit ${String(result.status)}`}); ${INSTALL_SHELLCHECK}`);
  }
  return parsed.comments.map((c) => ({ file: c.file, line: c.line, column: c.column, level: c.level, code: `SC${c.code}`, message: c.message }));
}

const BASH_SYNTAX_CHECK = 'status=0; for file in "$@"; do bash -n -- "$file" || status=1; done; exit "$status"';

async function bashSyntaxFiles(files: string[]): Promise<LintFinding[]> {
  const result = await runProcess('bash', ['-c', BASH_SYNTAX_CHECK, 'bash-n', ...files]);
  if (result.status === 0) return [];
  return result.stderr
    .trim()
    .split('\n')
    .map((line) => {
      const match = /^(.*?): line (\d+): (.*)$/.exec(line);
      return { file: match?.[1] ?? '', line: Number(match?.[2] ?? 0), column: 1, level: 'error', code: 'bash-n', message: match?.[3] ?? line };
    });
}

/** Splits the files across the machine's cores: one shellcheck and one bash process per share. */
export async function lintScripts(files: string[]): Promise<LintFinding[]> {
  if (files.length === 0) return [];
  const shares = chunk(files, availableParallelism());
  const results = await Promise.all(shares.flatMap((share) => [shellcheckFiles(share), bashSyntaxFiles(share)]));
  return results.flat().sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}
