// `lint --format sarif|junit`: what GitHub code scanning (SARIF 2.1.0) and GitLab or Jenkins test reports (JUnit XML)
// read, each checked against its published schema (test/fixtures/report-schemas/), clean and with findings.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateXML } from 'xmllint-wasm';
import { formatLintReport, type LintResult } from '../../src/lint/report.js';
import { EXAMPLES, ROOT, runCli, tempDir } from '../support/cli.js';

const SCHEMAS = path.join(ROOT, 'test', 'fixtures', 'report-schemas');
const TOOL = { name: 'macvlan-gen', version: '9.9.9', informationUri: 'https://macvlan-gen.dev/reference/cli.html' };

// Without the u flag: one pattern in rtm.5 (the language tag) has a stray ] that only non-unicode regular expressions allow.
// A CommonJS module: under NodeNext its default import is module.exports, whose .default is the class.
const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
(addFormats as unknown as (ajv: Ajv) => void)(ajv as unknown as Ajv);
const validSarif = ajv.compile(JSON.parse(readFileSync(path.join(SCHEMAS, 'sarif-2.1.0-rtm.5.json'), 'utf8')) as object);
const sarifErrors = (text: string): unknown[] => (validSarif(JSON.parse(text)) ? [] : (validSarif.errors ?? ['invalid']));

const JUNIT_XSD = readFileSync(path.join(SCHEMAS, 'junit-10.xsd'), 'utf8');
async function junitErrors(text: string): Promise<string[]> {
  const result = await validateXML({ xml: [{ fileName: 'lint.xml', contents: text }], schema: [{ fileName: 'junit-10.xsd', contents: JUNIT_XSD }] });
  return result.valid ? [] : result.errors.map((error) => error.rawMessage);
}

interface SarifLog {
  runs: {
    tool: { driver: { name: string; rules: { id: string; helpUri?: string }[] } };
    artifacts: { location: { uri: string } }[];
    results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[];
  }[];
}

describe('lint --format', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = tempDir('lint-formats');
    expect(runCli(['generate', path.join(EXAMPLES, 'seed.yaml'), '--out-dir', 'clean'], cwd).status).toBe(0);
    expect(runCli(['generate', path.join(EXAMPLES, 'seed.yaml'), '--out-dir', 'dirty'], cwd).status).toBe(0);
    writeFileSync(path.join(cwd, 'dirty', 'extra.sh'), '#!/usr/bin/env bash\necho $1 `date`\n');
    writeFileSync(path.join(cwd, 'dirty', 'broken.sh'), '#!/usr/bin/env bash\nif then\n');
  });

  it('the schemas reject what they should, so that passing them means something', async () => {
    expect(sarifErrors(JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ message: { text: 'm' }, level: 'style' }] }] }))).not.toEqual([]);
    expect(sarifErrors(JSON.stringify({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, artifacts: [{ location: { uri: 'a b' } }] }] }))).not.toEqual([]);
    expect(await junitErrors('<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase classname="c"/></testsuite></testsuites>')).not.toEqual([]);
  });

  it('sarif: a valid SARIF 2.1.0 log; clean scripts give no result and exit 0', () => {
    const run = runCli(['lint', 'clean', '--format', 'sarif'], cwd);
    expect(run.status).toBe(0);
    expect(sarifErrors(run.stdout)).toEqual([]);
    const log = JSON.parse(run.stdout) as SarifLog;
    expect(log.runs[0]?.results).toEqual([]);
    expect(log.runs[0]?.artifacts.map((artifact) => artifact.location.uri)).toEqual(['clean/node1.sh', 'clean/node2.sh']);
  });

  it('sarif: every finding a result with its rule, level and place in the repository; exit 1', () => {
    const run = runCli(['lint', 'dirty', '--format', 'sarif'], cwd);
    expect(run.status).toBe(1);
    expect(sarifErrors(run.stdout)).toEqual([]);
    const json = JSON.parse(runCli(['lint', 'dirty', '--json'], cwd).stdout) as { findings: { code: string; line: number; level: string }[] };
    const [sarifRun] = (JSON.parse(run.stdout) as SarifLog).runs;
    const results = sarifRun?.results ?? [];
    expect(results.map((result) => [result.ruleId, result.locations[0]?.physicalLocation.region?.startLine])).toEqual(json.findings.map((finding) => [finding.code, finding.line]));
    expect(new Set(results.map((result) => result.locations[0]?.physicalLocation.artifactLocation.uri))).toEqual(new Set(['dirty/broken.sh', 'dirty/extra.sh']));
    expect(results.every((result) => sarifRun?.tool.driver.rules[result.ruleIndex]?.id === result.ruleId)).toBe(true);
    expect(results.find((result) => result.ruleId === 'SC2086')?.level).toBe('note');
    expect(results.find((result) => result.ruleId === 'bash-n')?.level).toBe('error');
    expect(sarifRun?.tool.driver.rules.find((rule) => rule.id === 'SC2086')?.helpUri).toBe('https://www.shellcheck.net/wiki/SC2086');
  });

  it('sarif: an absolute directory gives file: URIs', () => {
    const run = runCli(['lint', path.join(cwd, 'clean'), '--format', 'sarif'], cwd);
    expect(sarifErrors(run.stdout)).toEqual([]);
    expect((JSON.parse(run.stdout) as SarifLog).runs[0]?.artifacts[0]?.location.uri).toBe(`file://${path.join(cwd, 'clean', 'node1.sh')}`);
  });

  it('junit: valid JUnit XML, one passing test case per clean script; exit 0', async () => {
    const run = runCli(['lint', 'clean', '--format', 'junit'], cwd);
    expect(run.status).toBe(0);
    expect(await junitErrors(run.stdout)).toEqual([]);
    expect(run.stdout).toContain('<testsuite name="macvlan-gen lint" tests="2" failures="0" errors="0" skipped="0">');
    expect(run.stdout).toContain('<testcase classname="macvlan-gen lint" name="clean/node1.sh"/>');
  });

  it('junit: each script with findings fails, carrying every finding of its own; exit 1', async () => {
    const run = runCli(['lint', 'dirty', '--format', 'junit'], cwd);
    expect(run.status).toBe(1);
    expect(await junitErrors(run.stdout)).toEqual([]);
    expect(run.stdout).toContain('<testsuite name="macvlan-gen lint" tests="4" failures="2" errors="0" skipped="0">');
    const text = runCli(['lint', 'dirty'], cwd).stdout.split('\n').filter((line) => line.startsWith('dirty/extra.sh:'));
    expect(text.length).toBeGreaterThan(1);
    const failure = /<testcase classname="macvlan-gen lint" name="dirty\/extra\.sh">\n\s*<failure type="shellcheck" message="(\d+ findings?)">([^<]*)<\/failure>/.exec(run.stdout);
    expect(failure?.[1]).toBe(`${text.length} finding${text.length === 1 ? '' : 's'}`);
    expect(failure?.[2]?.replaceAll('&apos;', "'").replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&').split('\n')).toEqual(text);
  });

  it('escapes what XML must, and drops what it cannot carry, in both formats', async () => {
    const result: LintResult = {
      files: ['out/a&b.sh'],
      findings: [{ file: 'out/a&b.sh', line: 2, column: 1, level: 'warning', code: 'SC2000', message: 'quote "<x>" & \'y\'\u0001 here' }],
    };
    const junit = formatLintReport('junit', result, TOOL);
    expect(await junitErrors(junit)).toEqual([]);
    expect(junit).toContain('name="out/a&amp;b.sh"');
    expect(junit).toContain('quote &quot;&lt;x&gt;&quot; &amp; &apos;y&apos; here</failure>');
    const sarif = formatLintReport('sarif', result, TOOL);
    expect(sarifErrors(sarif)).toEqual([]);
    expect(sarif).toContain('"uri": "out/a&b.sh"');
  });

  it('refuses --json with another --format (exit 2)', () => {
    expect(runCli(['lint', 'clean', '--json', '--format', 'junit'], cwd)).toMatchObject({
      status: 2,
      stderr: 'macvlan-gen: --json and --format junit ask for two formats; give one\nRun `macvlan-gen --help` for usage.\n',
    });
    expect(JSON.parse(runCli(['lint', 'clean', '--json', '--format', 'json'], cwd).stdout)).toMatchObject({ clean: true });
  });
});
