// formatLintReport: what `lint` found, in the form its reader takes: text for a terminal, JSON, SARIF 2.1.0 for code
// scanning (GitHub), JUnit XML for test reports (GitLab, Jenkins, most other CI systems).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LintFinding } from './lint.js';

export const LINT_FORMATS = ['text', 'json', 'sarif', 'junit'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];

export interface LintResult {
  /** The scripts linted, as named on the command line's directory (relative or absolute). */
  files: string[];
  findings: LintFinding[];
}

export interface LintTool {
  name: string;
  version: string;
  informationUri: string;
}

export function formatLintFinding(finding: LintFinding): string {
  return `${finding.file}:${finding.line}:${finding.column}: ${finding.level} ${finding.code}: ${finding.message}`;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

function textReport({ files, findings }: LintResult): string {
  return [...findings.map(formatLintFinding), `${plural(files.length, 'script')} linted: ${plural(findings.length, 'finding')}`].join('\n');
}

/** shellcheck's levels, and bash -n's error, as SARIF's. */
const SARIF_LEVELS: Record<string, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note', style: 'note' };

/** A relative path stays relative (code scanning reads it from the repository's root); an absolute one is a file: URI. */
const artifactUri = (file: string): string => (path.isAbsolute(file) ? pathToFileURL(file).href : encodeURI(file.split(path.sep).join('/')));

function sarifReport({ files, findings }: LintResult, tool: LintTool): string {
  const ruleIds = [...new Set(findings.map((finding) => finding.code))].sort();
  const rules = ruleIds.map((id) => (/^SC\d+$/.test(id) ? { id, helpUri: `https://www.shellcheck.net/wiki/${id}` } : { id }));
  const results = findings.map((finding) => ({
    ruleId: finding.code,
    ruleIndex: ruleIds.indexOf(finding.code),
    level: SARIF_LEVELS[finding.level] ?? 'warning',
    message: { text: finding.message },
    locations:
      finding.file === ''
        ? []
        : [
            {
              physicalLocation: {
                artifactLocation: { uri: artifactUri(finding.file) },
                ...(finding.line >= 1 ? { region: { startLine: finding.line, startColumn: Math.max(1, finding.column) } } : {}),
              },
            },
          ],
  }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, informationUri: tool.informationUri, rules } },
        artifacts: files.map((file) => ({ location: { uri: artifactUri(file) } })),
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}

/** Text for XML content and attribute values: escaped, less the characters XML 1.0 cannot carry at all. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** One test case per script: it passes with no finding and fails with all of its findings. */
function junitReport({ files, findings }: LintResult, tool: LintTool): string {
  const suite = `${tool.name} lint`;
  const scripts = [...new Set([...files, ...findings.map((finding) => finding.file)])];
  const failed = scripts.filter((file) => findings.some((finding) => finding.file === file)).length;
  const counts = `tests="${scripts.length}" failures="${failed}" errors="0"`;
  const cases = scripts.map((file) => {
    const own = findings.filter((finding) => finding.file === file);
    const name = `classname="${xml(suite)}" name="${xml(file)}"`;
    if (own.length === 0) return `    <testcase ${name}/>`;
    const failure = `<failure type="shellcheck" message="${xml(plural(own.length, 'finding'))}">${xml(own.map(formatLintFinding).join('\n'))}</failure>`;
    return `    <testcase ${name}>\n      ${failure}\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suite)}" ${counts}>`,
    `  <testsuite name="${xml(suite)}" ${counts} skipped="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
  ].join('\n');
}

export function formatLintReport(format: LintFormat, result: LintResult, tool: LintTool): string {
  switch (format) {
    case 'text':
      return textReport(result);
    case 'json':
      return JSON.stringify({ clean: result.findings.length === 0, files: result.files, findings: result.findings }, null, 2);
    case 'sarif':
      return sarifReport(result, tool);
    case 'junit':
      return junitReport(result, tool);
  }
}
