// The lint cache: one small file per linted script, named by the sha256 of the script's bytes together with all else
// that decides its findings (shellcheck's version and options, the bash -n check and bash's version), so a script is
// linted again only when one of them changes. Findings are kept without their file, which the reader re-attaches:
// the same content at another path has the same findings.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** A finding as it holds wherever the script sits. */
export interface ScriptFinding {
  line: number;
  column: number;
  level: string;
  code: string;
  message: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** An entry nobody has read for this long is removed; a read refreshes it at most once a day. */
export const KEEP_UNUSED_MS = 30 * DAY_MS;
const PRUNED_MARKER = '.pruned';

/** `$MACVLAN_GEN_CACHE_DIR/lint`, else `$XDG_CACHE_HOME/macvlan-gen/lint`, else `~/.cache/macvlan-gen/lint`. */
export function lintCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env['MACVLAN_GEN_CACHE_DIR']) return path.join(env['MACVLAN_GEN_CACHE_DIR'], 'lint');
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec has a relative XDG_CACHE_HOME ignored.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'macvlan-gen', 'lint');
  const home = homedir();
  return home ? path.join(home, '.cache', 'macvlan-gen', 'lint') : undefined;
}

/** The name of a script's entry: its bytes and the identity of the tools and options that lint it, hashed together. */
export function lintCacheKey(toolIdentity: string, script: Buffer): string {
  return createHash('sha256').update(toolIdentity).update('\0').update(createHash('sha256').update(script).digest('hex')).digest('hex');
}

function isScriptFinding(value: unknown): value is ScriptFinding {
  const finding = value as Partial<ScriptFinding> | null;
  return (
    typeof finding === 'object' &&
    finding !== null &&
    Number.isInteger(finding.line) &&
    Number.isInteger(finding.column) &&
    typeof finding.level === 'string' &&
    typeof finding.code === 'string' &&
    typeof finding.message === 'string'
  );
}

function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // Where nothing could be written, nothing is left to remove.
  }
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** Reads and writes entries; a missing, unreadable or corrupt entry is a miss, and a cache that cannot be written is skipped. */
export class LintCache {
  private writable = true;
  private created = false;

  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  read(key: string): ScriptFinding[] | undefined {
    const file = this.entry(key);
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { findings?: unknown };
      if (!Array.isArray(parsed.findings) || !parsed.findings.every(isScriptFinding)) return undefined;
      this.markUsed(file);
      return parsed.findings.map(({ line, column, level, code, message }) => ({ line, column, level, code, message }));
    } catch {
      return undefined;
    }
  }

  /** An entry's modification time is when it was last used, so that pruning keeps what is in use. */
  private markUsed(file: string): void {
    const now = this.now();
    try {
      if (now - statSync(file).mtimeMs > DAY_MS) utimesSync(file, now / 1000, now / 1000);
    } catch {
      // A cache on a read-only file system still serves its entries.
    }
  }

  /** Written to a temporary file and renamed into place, so a reader never sees half an entry. */
  write(key: string, findings: ScriptFinding[]): void {
    if (!this.writable) return;
    const temporary = path.join(this.dir, `.${key}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      if (!this.created) mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.created = true;
      writeFileSync(temporary, `${JSON.stringify({ findings })}\n`, { flag: 'wx', mode: 0o600 });
      renameSync(temporary, this.entry(key));
    } catch (error) {
      this.writable = false;
      removeQuietly(temporary);
      this.warn(`lint cache ${this.dir} cannot be written (${errorCode(error)}); linting without keeping results (--no-cache skips the cache)`);
    }
  }

  /** At most once a day: removes entries unused for KEEP_UNUSED_MS and temporary files left by an interrupted write. */
  prune(): void {
    if (!this.writable) return;
    const now = this.now();
    const marker = path.join(this.dir, PRUNED_MARKER);
    try {
      if (now - statSync(marker).mtimeMs < DAY_MS) return;
    } catch {
      // Never pruned yet (or no cache at all, which the listing below finds).
    }
    try {
      const names = readdirSync(this.dir);
      writeFileSync(marker, '');
      utimesSync(marker, now / 1000, now / 1000);
      for (const name of names.filter((name) => name !== PRUNED_MARKER)) {
        const file = path.join(this.dir, name);
        if (now - statSync(file).mtimeMs > (name.endsWith('.tmp') ? DAY_MS : KEEP_UNUSED_MS)) rmSync(file, { force: true });
      }
    } catch {
      // Pruning is housekeeping: a cache it cannot tidy still works.
    }
  }
}
