// The "Use in CI" page's recipes, run: the GitLab job's script lines and the GitHub workflow's run steps, taken from
// the files the page shows (in both languages), against a copy of examples/ laid out as the page says, with the
// standalone generator in tools/. They pass on the committed examples and fail at `check` once a committed script
// has drifted.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findSystemShellcheck } from '../../src/lint/shellcheck.js';
import { buildStandalone, STANDALONE_NAME, writeStandalone } from '../../scripts/build-standalone.js';
import { BASH, EXAMPLES, ROOT, tempDir } from '../support/cli.js';

const DOCS = path.join(ROOT, 'docs');
const PAGES = ['guide/ci.md', 'zh/guide/ci.md'];

/** The files a page embeds with `<<< @/...`, relative to docs/. */
const embedded = (page: string): string[] => [...readFileSync(path.join(DOCS, page), 'utf8').matchAll(/^<<< @\/(\S+)$/gm)].map((match) => match[1] ?? '');

const recipe = (file: string): unknown => parse(readFileSync(path.join(DOCS, file), 'utf8'));

interface GitlabJob {
  image: string;
  variables: Record<string, string>;
  before_script?: string[];
  script: string[];
  artifacts: { when: string; paths: string[]; reports: { junit: string } };
}

interface GithubStep {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number>;
  env?: Record<string, string>;
}

interface GithubWorkflow {
  env: Record<string, string>;
  jobs: Record<string, { defaults: { run: { shell: string } }; env?: Record<string, string>; steps: GithubStep[] }>;
}

interface JobRun {
  status: number | null;
  output: string;
}

// The runner's own environment, less anything of this test run (node_modules/.bin on PATH, above all); its cache
// directory (where lint keeps its results) is a folder of this test run's, not one made under /nonexistent as root.
const RUNNER_ENV = {
  PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
  HOME: '/nonexistent',
  XDG_CACHE_HOME: tempDir('runner-cache'),
  LANG: 'C.UTF-8',
};

function shell(script: string, cwd: string, env: Record<string, string>, options: string[]): JobRun {
  const result = spawnSync(BASH, ['--noprofile', '--norc', ...options, '-c', script], { cwd, encoding: 'utf8', env: { ...RUNNER_ENV, ...env } });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** As GitLab's shell executor does: before_script and script in one bash, the first failing line ends the job. */
const runGitlabJob = (job: GitlabJob, repo: string, variables: Record<string, string>): JobRun =>
  shell([...(job.before_script ?? []), ...job.script].join('\n'), repo, { ...job.variables, ...variables }, ['-eo', 'pipefail']);

/** As GitHub's runner does with `shell: bash`: each run step in its own bash -eo pipefail, until one fails. */
function runGithubJob(workflow: GithubWorkflow, repo: string, variables: Record<string, string>): JobRun & { ran: string[] } {
  const [job] = Object.values(workflow.jobs);
  const ran: string[] = [];
  let output = '';
  for (const step of job?.steps ?? []) {
    if (step.run === undefined) continue;
    const run = shell(step.run, repo, { ...workflow.env, ...job?.env, ...step.env, ...variables }, ['-eo', 'pipefail']);
    ran.push(step.name ?? step.run);
    output += run.output;
    if (run.status !== 0) return { status: run.status, output, ran };
  }
  return { status: 0, output, ran };
}

describe('the Use in CI page', () => {
  let standalone: string;
  const [gitlabFile = '', githubFile = ''] = embedded(PAGES[0] ?? '');

  beforeAll(async () => {
    // Else the recipes' own install step would run apt-get on this machine.
    if (findSystemShellcheck(RUNNER_ENV.PATH) === undefined) throw new Error('the recipes need shellcheck on the runner; scripts/system-packages.sh test installs it');
    standalone = path.join(tempDir('standalone'), STANDALONE_NAME);
    writeStandalone(await buildStandalone(), standalone);
  }, 60_000);

  /** A repository laid out as the page says, holding examples/ as its configs and committed scripts. */
  function repository(): string {
    const repo = tempDir('ci-repo');
    cpSync(EXAMPLES, path.join(repo, 'examples'), { recursive: true });
    cpSync(standalone, path.join(repo, 'tools', STANDALONE_NAME));
    return repo;
  }

  const CONFIGS = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml')).map((name) => path.basename(name, '.yaml'));
  const variablesFor = (example: string) => ({ CONFIG: `examples/${example}.yaml`, COMMITTED: `examples/out/${example}` });

  it('shows a GitLab CI job and a GitHub Actions workflow, the same files in both languages', () => {
    expect([gitlabFile, githubFile]).toEqual(['public/ci/gitlab-ci.yml', 'public/ci/github-workflow.yml']);
    for (const page of PAGES) expect(embedded(page), page).toEqual([gitlabFile, githubFile]);
  });

  describe('GitLab CI', () => {
    const jobs = Object.values(recipe(gitlabFile) as Record<string, GitlabJob>);
    const job = jobs[0] as GitlabJob;

    it('is one job on a node 20 image whose variables name the config and the committed scripts', () => {
      expect(jobs).toHaveLength(1);
      expect(job.image).toMatch(/^node:(2\d|[3-9]\d)\b/);
      expect(Object.keys(job.variables).sort()).toEqual(Object.keys(variablesFor('seed')).sort());
      expect(job.script.some((line) => / validate /.test(line) && line.includes('--strict'))).toBe(true);
      for (const command of ['generate', 'check', 'lint']) expect(job.script.some((line) => line.includes(` ${command} `)), command).toBe(true);
    });

    it.each(CONFIGS)('passes on examples/%s.yaml and leaves the scripts, SHA256SUMS and a JUnit report without failures as artifacts', (example) => {
      const repo = repository();
      const run = runGitlabJob(job, repo, variablesFor(example));
      expect(run.output).toContain('SHA256SUMS');
      expect(run.status, run.output).toBe(0);
      expect(job.artifacts.when).toBe('always');
      for (const artifact of job.artifacts.paths) expect(existsSync(path.join(repo, artifact)), artifact).toBe(true);
      const scripts = path.join(repo, job.artifacts.paths[0] ?? '');
      expect(readdirSync(scripts).sort()).toEqual(readdirSync(path.join(EXAMPLES, 'out', example)).sort());
      const report = readFileSync(path.join(repo, job.artifacts.reports.junit), 'utf8');
      expect(report).toMatch(/<testsuite name="macvlan-gen lint" tests="\d+" failures="0" errors="0" skipped="0">/);
    });

    it('fails at check once a committed script has drifted from the config, before lint', () => {
      const repo = repository();
      appendFileSync(path.join(repo, 'examples', 'out', 'seed', 'node1.sh'), '# edited by hand\n');
      const run = runGitlabJob(job, repo, variablesFor('seed'));
      expect(run.status).toBe(1);
      expect(run.output).toContain('examples/out/seed/node1.sh: stale');
      expect(run.output).toMatch(/out of date; run: macvlan-gen generate examples\/seed\.yaml --out-dir examples\/out\/seed/);
      expect(existsSync(path.join(repo, job.artifacts.reports.junit))).toBe(false);
    });
  });

  describe('GitHub Actions', () => {
    const workflow = recipe(githubFile) as GithubWorkflow;
    const [job] = Object.values(workflow.jobs);
    const steps = job?.steps ?? [];
    const uses = (action: string): GithubStep | undefined => steps.find((step) => step.uses?.startsWith(`${action}@`));

    it('runs its steps in bash on node 20, without expressions the shell would not see, and uploads what the run steps write', () => {
      expect(Object.keys(workflow.jobs)).toHaveLength(1);
      expect(job?.defaults.run.shell).toBe('bash');
      expect(Number(uses('actions/setup-node')?.with?.['node-version'])).toBeGreaterThanOrEqual(20);
      expect(uses('actions/checkout')).toBeDefined();
      expect(Object.keys(workflow.env).sort()).toEqual(Object.keys(variablesFor('seed')).sort());
      for (const step of steps.filter((each) => each.run !== undefined)) {
        expect(step.run).not.toContain('${{');
        expect(step.if, step.name).toBeUndefined();
      }
      expect(uses('github/codeql-action/upload-sarif')?.if).toContain('!cancelled()');
    });

    it.each(CONFIGS)('passes on examples/%s.yaml, leaving a SARIF log without results for code scanning and the scripts for the artifact', (example) => {
      const repo = repository();
      const run = runGithubJob(workflow, repo, variablesFor(example));
      expect(run.status, run.output).toBe(0);
      expect(run.ran).toEqual(steps.filter((step) => step.run !== undefined).map((step) => step.name ?? step.run));
      const sarif = JSON.parse(readFileSync(path.join(repo, String(uses('github/codeql-action/upload-sarif')?.with?.['sarif_file'])), 'utf8')) as {
        version: string;
        runs: { results: unknown[]; artifacts: { location: { uri: string } }[] }[];
      };
      expect(sarif.version).toBe('2.1.0');
      expect(sarif.runs[0]?.results).toEqual([]);
      expect(sarif.runs[0]?.artifacts.every((artifact) => existsSync(path.join(repo, artifact.location.uri)))).toBe(true);
      const artifact = path.join(repo, String(uses('actions/upload-artifact')?.with?.['path']));
      expect(readdirSync(artifact).sort()).toEqual(readdirSync(path.join(EXAMPLES, 'out', example)).sort());
      expect(readdirSync(artifact)).toContain('SHA256SUMS');
    });

    it('fails at check once a committed script has drifted from the config, before lint', () => {
      const repo = repository();
      appendFileSync(path.join(repo, 'examples', 'out', 'seed', 'node2.sh'), '# edited by hand\n');
      const run = runGithubJob(workflow, repo, variablesFor('seed'));
      expect(run.status).toBe(1);
      expect(run.ran.at(-1)).toBe('Fail on drift between the config and the committed scripts');
      expect(run.output).toContain('examples/out/seed/node2.sh: stale');
    });
  });
});
