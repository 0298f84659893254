import { describe, expect, it } from 'vitest';
import { formatDuration, LintProgress, progressLine, SHOW_AFTER_MS } from '../../src/lint/progress.js';

describe('progressLine', () => {
  it('counts scripts, the time so far and an estimate from the scripts linted so far', () => {
    expect(progressLine({ done: 100, total: 1000, cached: 0 }, 45_000)).toBe('lint: 100/1000 scripts, elapsed 45s, about 6m 45s left');
    expect(progressLine({ done: 750, total: 1000, cached: 700 }, 20_000)).toBe('lint: 750/1000 scripts (700 cached), elapsed 20s, about 1m 40s left');
    expect(progressLine({ done: 0, total: 8, cached: 0 }, 2_500)).toBe('lint: 0/8 scripts, elapsed 3s, estimating the time left');
  });

  it('formats durations in seconds, then minutes and seconds', () => {
    expect([0, 1_400, 59_499, 59_500, 61_000, 3_600_000].map(formatDuration)).toEqual(['0s', '1s', '59s', '1m 00s', '1m 01s', '60m 00s']);
  });
});

describe('LintProgress', () => {
  function progress(columns = 80): { line: LintProgress; written: string[]; clock: { now: number } } {
    const clock = { now: 0 };
    const written: string[] = [];
    return { line: new LintProgress((text) => written.push(text), columns, () => clock.now), written, clock };
  }

  it('prints nothing for a lint that ends within SHOW_AFTER_MS', () => {
    const { line, written, clock } = progress();
    line.update({ done: 0, total: 4, cached: 0 });
    clock.now = SHOW_AFTER_MS - 1;
    line.update({ done: 4, total: 4, cached: 0 });
    line.stop();
    expect(written).toEqual([]);
  });

  it('then rewrites one line in place, and erases it at the end', () => {
    const { line, written, clock } = progress();
    line.update({ done: 0, total: 4, cached: 0 });
    clock.now = SHOW_AFTER_MS;
    line.draw();
    clock.now = 4_000;
    line.update({ done: 2, total: 4, cached: 0 });
    line.stop();
    line.stop();
    expect(written).toEqual([
      '\r\u001b[Klint: 0/4 scripts, elapsed 2s, estimating the time left',
      '\r\u001b[Klint: 2/4 scripts, elapsed 4s, about 4s left',
      '\r\u001b[K',
    ]);
  });

  it('keeps the line shorter than the terminal, which would otherwise wrap it', () => {
    const { line, written, clock } = progress(20);
    clock.now = SHOW_AFTER_MS;
    line.update({ done: 1, total: 4, cached: 0 });
    expect(written).toEqual(['\r\u001b[Klint: 1/4 scripts, ']);
  });
});
