// Lint of the 1,000 scripts of 1,000 nodes x 20 namespaces: macvlan-gen lint with no cache (many files per shellcheck,
// spread over the cores), again with every script cached, again with one script changed, and the reference: one
// shellcheck and one bash -n per file, one file after another.
//
// shellcheck takes one to three seconds a script, so the whole fleet takes 7.5 to 26 minutes without a cache and 16
// to 55 in turn, more than npm run bench's 10 minutes allow. Both are measured on a random sample of the fleet (its
// scripts differ only in names and addresses) and scaled to 1,000 (MACVLAN_GEN_BENCH_LINT_SAMPLE=1000 lints the whole
// fleet). The cached re-lint reads 1,000 scripts: the sample's, each at 1000/sample paths, which the cold run left in
// the cache (the same content at another path is the same entry).
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateFleet, measureCli, type Measured } from './generate.js';
import { SHELLCHECK_ARGS } from '../src/lint/lint.js';
import { findSystemShellcheck } from '../src/lint/shellcheck.js';

const FLEET = 1000;
const COLD_SAMPLE = Number(process.env['MACVLAN_GEN_BENCH_LINT_SAMPLE'] ?? 25);
const SEQUENTIAL_SAMPLE = Math.min(10, COLD_SAMPLE);
const WARM_ROUNDS = 3;

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function lint(dir: string, cache: string): Measured {
  const run = measureCli(['lint', dir], { ...process.env, MACVLAN_GEN_CACHE_DIR: cache });
  if (run.status !== 0) throw new Error(`lint ${dir} failed: ${run.stdout.slice(-300)}${run.stderr}`);
  return run;
}

/** One shellcheck and one bash -n per file, in turn: what linting the scripts one by one by hand costs. */
function sequential(scripts: string[]): number {
  const shellcheck = process.env['SHELLCHECKJS_BIN'] || findSystemShellcheck() || 'shellcheck';
  const start = process.hrtime.bigint();
  for (const script of scripts) {
    const run = spawnSync(shellcheck, [...SHELLCHECK_ARGS, script], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`shellcheck ${script} failed: ${run.stdout.slice(0, 300)}`);
    spawnSync('bash', ['-n', script]);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const line = (label: string, seconds: number, note: string): void => console.log(`  ${label.padEnd(46)} ${seconds.toFixed(2).padStart(8)} s  ${note}`);

export async function benchLint(): Promise<{ name: string; value: number; reference: number; target: string; ok: boolean }[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'mvg-bench-lint-'));
  try {
    const fleet = path.join(work, 'fleet');
    generateFleet({ nodes: FLEET, namespaces: 20 }, fleet);
    const names = readdirSync(fleet).filter((name) => name.endsWith('.sh'));
    if (names.length !== FLEET) throw new Error(`the fleet has ${names.length} scripts, not ${FLEET}`);
    const sample = shuffled(names).slice(0, COLD_SAMPLE);
    const estimated = (of: number): string => (of === FLEET ? 'all 1000 linted' : `estimated from ${of} of ${FLEET}`);
    console.log(`lint of the ${FLEET} scripts of ${FLEET} nodes x 20 namespaces (shellcheck ${SHELLCHECK_ARGS.join(' ')}):`);

    const cache = path.join(work, 'cache');
    const cold = path.join(work, 'cold');
    mkdirSync(cold);
    for (const name of sample) copyFileSync(path.join(fleet, name), path.join(cold, name));
    const coldRun = lint(cold, cache);
    const coldSeconds = (coldRun.seconds * FLEET) / sample.length;
    line('macvlan-gen lint, nothing cached', coldSeconds, `${estimated(sample.length)}: ${coldRun.seconds.toFixed(1)} s, peak ${coldRun.peakMb.toFixed(0)} MB`);

    const warm = path.join(work, 'warm');
    mkdirSync(warm);
    const warmNames = Array.from({ length: FLEET }, (_, i) => {
      const name = sample[i % sample.length] ?? '';
      const copy = `r${Math.floor(i / sample.length) + 1}-${name}`;
      copyFileSync(path.join(fleet, name), path.join(warm, copy));
      return copy;
    });
    const warmRuns = Array.from({ length: WARM_ROUNDS }, () => lint(warm, cache));
    const warmSeconds = median(warmRuns.map((run) => run.seconds));
    const reuse = sample.length === FLEET ? '' : `; the ${sample.length} sampled scripts, each at ${Math.ceil(FLEET / sample.length)} paths`;
    line(`again, all ${FLEET} cached`, warmSeconds, `median of ${WARM_ROUNDS}, peak ${median(warmRuns.map((run) => run.peakMb)).toFixed(0)} MB${reuse}`);

    appendFileSync(path.join(warm, shuffled(warmNames)[0] ?? ''), '# changed\n');
    const changedSeconds = lint(warm, cache).seconds;
    line(`again, one of ${FLEET} changed`, changedSeconds, 'one shellcheck over one script');

    const reference = sample.slice(0, SEQUENTIAL_SAMPLE).map((name) => path.join(fleet, name));
    const measured = sequential(reference);
    const sequentialSeconds = (measured * FLEET) / reference.length;
    line('one shellcheck + bash -n per file, in turn', sequentialSeconds, `${estimated(reference.length)}: ${measured.toFixed(1)} s`);

    const ratio = coldSeconds / sequentialSeconds;
    return [
      { name: 'lint, nothing cached / in turn', value: ratio, reference: sequentialSeconds, target: '<= 0.6', ok: ratio <= 0.6 },
      { name: `lint again, ${FLEET} cached, seconds`, value: warmSeconds, reference: 2, target: '<= 2 s', ok: warmSeconds <= 2 },
      { name: `lint again, 1 of ${FLEET} changed, s`, value: changedSeconds, reference: NaN, target: 'reported', ok: true },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
