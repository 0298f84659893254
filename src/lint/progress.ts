// What a long lint shows on a terminal while it runs: one line, rewritten in place, with how many scripts are done,
// the time so far and an estimate of the time left. It appears only once the lint has run for SHOW_AFTER_MS, so a
// quick lint prints nothing, and it is erased at the end.
export const SHOW_AFTER_MS = 2000;
const REDRAW_EVERY_MS = 1000;
const ERASE_LINE = '\r\u001b[K';
const DEFAULT_COLUMNS = 80;

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

export interface LintProgressCount {
  /** Scripts finished, the cached ones included. */
  done: number;
  total: number;
  /** Scripts whose findings came from the cache, counted as done from the start. */
  cached: number;
}

/** `lint: 120/1000 scripts (700 cached), elapsed 1m 02s, about 2m 35s left`. */
export function progressLine({ done, total, cached }: LintProgressCount, elapsedMs: number): string {
  const linted = done - cached;
  const left = linted > 0 ? `about ${formatDuration((elapsedMs / linted) * (total - done))} left` : 'estimating the time left';
  return `lint: ${done}/${total} scripts${cached > 0 ? ` (${cached} cached)` : ''}, elapsed ${formatDuration(elapsedMs)}, ${left}`;
}

export class LintProgress {
  private count: LintProgressCount = { done: 0, total: 0, cached: 0 };
  private shown = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly start: number;

  constructor(
    private readonly write: (text: string) => void,
    /** The terminal's width (0 where it reports none): a longer line would wrap and could no longer be rewritten in place. */
    private readonly columns: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  readonly update = (count: LintProgressCount): void => {
    this.count = count;
    this.draw();
  };

  draw(): void {
    const elapsed = this.now() - this.start;
    if (elapsed < SHOW_AFTER_MS || this.count.total === 0) return;
    this.write(`${ERASE_LINE}${progressLine(this.count, elapsed).slice(0, (this.columns || DEFAULT_COLUMNS) - 1)}`);
    this.shown = true;
  }

  /** Redraws every second, so the elapsed time moves between scripts that take long. */
  run(): void {
    this.timer = setInterval(() => this.draw(), REDRAW_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.shown) this.write(ERASE_LINE);
    this.shown = false;
  }
}
