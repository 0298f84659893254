#!/usr/bin/env node
// Wires the yargs commands to the stages; the one place that turns errors into exit codes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CliError, ConfigError, EnvironmentError, EXIT, UsageError } from './errors.js';
import { countBySeverity, formatDiagnostic, InvalidConfigError, type Diagnostic } from './config/diagnostics.js';
import { configJsonSchema } from './config/schema.js';
import { generateFromText, generateStream, validateText } from './pipeline.js';
import { writeOutput, readOutputDir, previousOutputFiles, writeFileAtomically, writeTextFiles } from './output/write.js';
import { compareOutput, describeDrift } from './output/compare.js';
import { lintScripts } from './lint/lint.js';
import { LintCache, lintCacheDir } from './lint/cache.js';
import { LintProgress } from './lint/progress.js';
import { formatLintReport, LINT_FORMATS, type LintFormat } from './lint/report.js';
import { DOCS_SITE } from './site.js';
import { SCHEMA_MODELINE, seedExample, VERSION } from './package-info.js';
import { listLabs, removeLab, runLab, type ExpectationOverride } from './lab/runner.js';
import { recordLab } from './lab/transcripts.js';
import { profileHelp, resolveProfiles } from './lab/profiles.js';
import { formatLabReport } from './lab/report.js';
import { isExtraFile, sha256 } from './output/assemble.js';
import { buildPlan } from './plan/plan.js';
import { topologySvg, type DiagramLayout } from './diagram/topology.js';
import { labPictures } from './diagram/reachability.js';
import { ANSIBLE_FILES } from './ansible/names.js';
import type { AnsibleHosts } from './ansible/ansible.js';
import { DIAGRAM_FILE } from './diagram/names.js';
import { shq } from './render/shq.js';

const DEFAULT_CONFIG = 'macvlan-gen.yaml';
const DEFAULT_OUT_DIR = 'out';

const LINT_TOOL = { name: 'macvlan-gen', version: VERSION, informationUri: `${DOCS_SITE}/reference/cli.html` };

const out = (text: string): void => void process.stdout.write(`${text}\n`);
const diag = (text: string): void => void process.stderr.write(`${text}\n`);
const printJson = (value: unknown): void => out(JSON.stringify(value, null, 2));

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`cannot read config ${file}: ${reason}${file === DEFAULT_CONFIG ? ' (create one with `macvlan-gen init`)' : ''}`);
  }
}

/** A terminal reader gets the first problems and a count; --json keeps every one. */
const PRINTED_DIAGNOSTICS = 100;

function printDiagnostics(sourceName: string, diagnostics: Diagnostic[]): void {
  for (const diagnostic of diagnostics.slice(0, PRINTED_DIAGNOSTICS)) diag(`${sourceName}: ${formatDiagnostic(diagnostic)}`);
  const more = diagnostics.length - PRINTED_DIAGNOSTICS;
  if (more > 0) diag(`${sourceName}: ... and ${more} more (${summary(diagnostics.slice(PRINTED_DIAGNOSTICS))}); the first ${PRINTED_DIAGNOSTICS} are shown, --json lists all`);
}

function summary(diagnostics: Diagnostic[]): string {
  const { errors, warnings } = countBySeverity(diagnostics);
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}

/** Loads, validates and generates; warnings go to stderr. */
function generateFromFile(file: string, options: { strict: boolean; ansible: boolean; ansibleHosts: AnsibleHosts; diagram: boolean }) {
  const generated = generateFromText(readConfigText(file), file, options);
  printDiagnostics(file, generated.warnings);
  return generated;
}

const configArg = (y: Argv) =>
  y
    .positional('config', { type: 'string', default: DEFAULT_CONFIG, describe: 'config file (YAML or JSON)' })
    .option('strict', { type: 'boolean', default: false, describe: 'treat warnings as errors' });

const outDirOption = { type: 'string', default: DEFAULT_OUT_DIR, describe: 'output directory' } as const;
const jsonOption = { type: 'boolean', default: false, describe: 'print the result as JSON on stdout' } as const;
const ansibleOption = {
  type: 'boolean',
  default: false,
  describe: `also ${ANSIBLE_FILES.join(', ')}: an Ansible inventory of the nodes and the playbooks that roll the scripts out in batches and tear them down`,
} as const;
const ansibleHostOption = {
  type: 'string',
  array: true,
  default: [] as string[],
  requiresArg: true,
  describe: 'with --ansible: reach node NODE at ADDRESS (an IP address or DNS name) in the inventory, over the config\'s ssh.host and the node\'s host address; once per node',
} as const;

/** `--ansible-host NODE=ADDRESS ...` by node; the nodes and addresses are checked against the config when it is read. */
function parseAnsibleHosts(values: readonly string[]): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const value of values) {
    const match = /^([^=]+)=(.*)$/.exec(value);
    if (!match) throw new UsageError(`--ansible-host ${JSON.stringify(value)}: write NODE=ADDRESS, like node1=10.255.0.9`);
    const [, node = '', address = ''] = match;
    if (hosts.has(node)) throw new UsageError(`--ansible-host names node ${node} twice (${hosts.get(node)} and ${address}); give one address per node`);
    hosts.set(node, address);
  }
  return hosts;
}

/** The flags that made the Ansible files, for the command that remakes them. */
const ansibleFlags = (hosts: readonly string[]): string => [' --ansible', ...hosts.map((host) => ` --ansible-host ${host}`)].join('');
const diagramOption = {
  type: 'boolean',
  default: false,
  describe: `also ${DIAGRAM_FILE}: the picture of the network the config sets up, as \`macvlan-gen diagram\` draws it`,
} as const;

async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const jsonRequested = argv.includes('--json');
  const parser = yargs(argv)
    .scriptName('macvlan-gen')
    .usage('$0 <command> [options]\n\nGenerate per-node bash scripts that set up macvlan networking from one config file.')
    .command(
      'generate [config]',
      'validate the config and write one script per node, SHA256SUMS and manifest.json',
      (y) =>
        configArg(y)
          .option('out-dir', outDirOption)
          .option('ansible', ansibleOption)
          .option('ansible-host', ansibleHostOption)
          .option('diagram', diagramOption)
          .option('force', { type: 'boolean', default: false, describe: 'replace files in the output directory that macvlan-gen did not write' }),
      (args) => {
        const { warnings, names, files } = generateStream(readConfigText(args.config), args.config, {
          strict: args.strict,
          ansible: args.ansible,
          ansibleHosts: parseAnsibleHosts(args.ansibleHost),
          diagram: args.diagram,
        });
        printDiagnostics(args.config, warnings);
        const result = writeOutput(args.outDir, names, files, { force: args.force });
        const scripts = result.written.filter((name) => name.endsWith('.sh'));
        const listed = scripts.length > 10 ? `${scripts.slice(0, 10).join(', ')} and ${scripts.length - 10} more` : scripts.join(', ');
        const extras = names.filter(isExtraFile).map((name) => `${name}, `).join('');
        out(`wrote ${result.written.length} files to ${args.outDir}/: ${listed}, ${extras}SHA256SUMS, manifest.json`);
        if (result.removed.length > 0) out(`removed files no longer generated: ${result.removed.join(', ')}`);
        if (result.kept.length > 0) out(`left files no longer generated that differ from what macvlan-gen wrote: ${result.kept.join(', ')}`);
      },
    )
    .command(
      'validate [config]',
      'check the config and print every problem; write nothing',
      (y) => configArg(y).option('json', jsonOption),
      (args) => {
        const { config, warnings } = validateText(readConfigText(args.config), args.config, { strict: args.strict });
        const nodes = Object.keys(config.nodes);
        if (args.json) printJson({ valid: true, config: args.config, nodes, diagnostics: warnings });
        else {
          printDiagnostics(args.config, warnings);
          out(`${args.config}: valid (${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${nodes.join(', ')}; ${summary(warnings)})`);
        }
      },
    )
    .command(
      'check [config]',
      'exit 1 when the scripts in the output directory differ from what the config generates (for CI); the Ansible files and the topology picture too where generate wrote them',
      (y) =>
        configArg(y)
          .option('out-dir', outDirOption)
          .option('ansible', { ...ansibleOption, describe: 'expect the Ansible files too (without it, they are checked when the directory\'s manifest.json lists them)' })
          .option('ansible-host', { ...ansibleHostOption, describe: 'compare with the inventory generate --ansible-host NODE=ADDRESS wrote; give the same ones' })
          .option('diagram', { ...diagramOption, describe: `expect ${DIAGRAM_FILE} too (without it, it is checked when the directory's manifest.json lists it)` })
          .option('json', jsonOption),
      (args) => {
        const previous = previousOutputFiles(args.outDir);
        const ansible = args.ansible || ANSIBLE_FILES.some((name) => previous.has(name));
        const diagram = args.diagram || previous.has(DIAGRAM_FILE);
        const { files } = generateFromFile(args.config, { strict: args.strict, ansible, ansibleHosts: parseAnsibleHosts(args.ansibleHost), diagram });
        const drift = compareOutput(files, readOutputDir(args.outDir, files.map((file) => file.name)), previous);
        if (args.json) printJson({ upToDate: drift.length === 0, outDir: args.outDir, drift });
        else if (drift.length === 0) out(`${args.outDir}/ is up to date with ${args.config}`);
        else {
          for (const item of drift) out(describeDrift(item, args.outDir));
          out(`${drift.length} file${drift.length === 1 ? '' : 's'} out of date; run: macvlan-gen generate ${args.config} --out-dir ${args.outDir}${ansible ? ansibleFlags(args.ansibleHost) : ''}${diagram ? ' --diagram' : ''}`);
        }
        if (drift.length > 0) exitCode = EXIT.findings;
      },
    )
    .command(
      'lint [dir]',
      'run shellcheck (all checks, style and up) and bash -n over the scripts in a directory that changed since they were last linted; on a terminal, a lint that takes over 2 s shows its progress on stderr',
      (y) =>
        y
          .positional('dir', { type: 'string', default: DEFAULT_OUT_DIR, describe: 'directory with generated scripts' })
          .option('format', {
            choices: LINT_FORMATS,
            default: 'text' as LintFormat,
            describe: 'how to print the findings: text, json, sarif (SARIF 2.1.0, for code scanning such as GitHub\'s) or junit (JUnit XML, for test reports in GitLab, Jenkins and most CI)',
          })
          .option('json', { ...jsonOption, describe: 'the same as --format json' })
          .option('cache', {
            type: 'boolean',
            default: true,
            describe: 'take the findings of a script linted before, unchanged, with the same shellcheck and options, from ~/.cache/macvlan-gen/lint ($XDG_CACHE_HOME or $MACVLAN_GEN_CACHE_DIR instead of ~/.cache); --no-cache lints every script and keeps nothing',
          }),
      async (args) => {
        if (args.json && args.format !== 'text' && args.format !== 'json') throw new UsageError(`--json and --format ${args.format} ask for two formats; give one`);
        if (!existsSync(args.dir)) throw new UsageError(`${args.dir} does not exist; run \`macvlan-gen generate\` first`);
        const scripts = [...readOutputDir(args.dir).keys()].filter((name) => name.endsWith('.sh')).map((name) => path.join(args.dir, name));
        if (scripts.length === 0) throw new UsageError(`${args.dir} has no .sh files to lint`);
        const format = args.json ? 'json' : args.format;
        const cacheDir = args.cache ? lintCacheDir(process.env) : undefined;
        const cache = cacheDir === undefined ? undefined : new LintCache(cacheDir, (message) => format === 'text' && diag(`macvlan-gen: ${message}`));
        // Progress only where a person watches: a terminal, reading text.
        const progress = format === 'text' && process.stderr.isTTY ? new LintProgress((text) => process.stderr.write(text), process.stderr.columns) : undefined;
        progress?.run();
        const findings = await lintScripts(scripts, { cache, onProgress: progress?.update }).finally(() => progress?.stop());
        out(formatLintReport(format, { files: scripts, findings }, LINT_TOOL));
        if (findings.length > 0) exitCode = EXIT.findings;
      },
    )
    .command(
      'init [file]',
      'write the seed example config to start from',
      (y) =>
        y
          .positional('file', { type: 'string', default: DEFAULT_CONFIG, describe: 'where to write it' })
          .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing file' }),
      (args) => {
        if (existsSync(args.file) && !args.force) throw new UsageError(`${args.file} already exists; pass --force to overwrite it`);
        const seed = seedExample().replace(/^# yaml-language-server: \$schema=.*$/m, () => SCHEMA_MODELINE);
        writeFileSync(args.file, seed, { flag: args.force ? 'w' : 'wx' });
        out(`wrote ${args.file}; next: macvlan-gen generate ${args.file}`);
      },
    )
    .command('schema', 'print the JSON Schema of the config', {}, () => printJson(configJsonSchema()))
    .command(
      'diagram [config]',
      'draw the network the config sets up as an SVG picture (gateway, switch, each node with its parent, namespaces and shim)',
      (y) =>
        configArg(y)
          .option('out', { type: 'string', describe: 'write the SVG to this file instead of standard output' })
          .option('layout', { choices: ['wide', 'narrow'] as const, default: 'wide' as DiagramLayout, describe: 'wide: nodes side by side; narrow: one below the other, for a phone' }),
      (args) => {
        const { config, warnings } = validateText(readConfigText(args.config), args.config, { strict: args.strict });
        printDiagnostics(args.config, warnings);
        const svg = topologySvg(buildPlan(config), args.layout);
        if (args.out === undefined) process.stdout.write(svg);
        else {
          writeFileAtomically(args.out, svg);
          out(`wrote ${args.out}`);
        }
      },
    )
    .command('lab', 'rehearse the generated scripts on emulated nodes in network namespaces (root)', (y) =>
      y
        .command(
          '$0 [config]',
          'build an emulated LAN from the config, run each node script inside it, and print the connectivity matrix and how long a LAN neighbour lost each endpoint (over 2 s fails)',
          (yy) =>
            configArg(yy)
              .option('stage', { type: 'boolean', default: true, describe: 'roll the config out in stages on one lab, probing after each: without the namespace default routes, with them, after the host migration (--no-stage: only the final state)' })
              .option('keep', { type: 'boolean', default: false, describe: 'leave the lab up at the end, as the last stage left it; remove it with `lab down`' })
              .option('profile', { type: 'string', array: true, default: [], describe: profileHelp() })
              .option('expect', { type: 'string', array: true, default: [], describe: 'override an expectation: "A<->B=reach" or "A<->B=none"' })
              .option('pictures', { type: 'string', describe: 'also write the topology (topology.svg) and each stage\'s measured reachability, drawn on the stage\'s topology (<stage>.svg, <stage>-ipv6.svg) and as a grid (<stage>-grid.svg, <stage>-ipv6-grid.svg), as SVG pictures to this directory' })
              .option('json', jsonOption),
          async (args) => {
            const text = readConfigText(args.config);
            const { config, warnings } = validateText(text, args.config, { strict: args.strict });
            printDiagnostics(args.config, warnings);
            const result = await runLab(config, {
              staged: args.stage,
              keep: args.keep,
              profiles: resolveProfiles(args.profile, config.nodes),
              overrides: args.expect.map(parseExpectation),
              configSha256: sha256(text),
              progress: (line) => diag(line),
            });
            if (args.json) printJson(result);
            else out(formatLabReport(result));
            if (args.pictures !== undefined) {
              const pictures = labPictures(config, result);
              for (const picture of pictures) writeFileAtomically(path.join(args.pictures, picture.name), picture.content);
              diag(`wrote ${pictures.length} pictures to ${args.pictures}/: ${pictures.map((picture) => picture.name).join(', ')}`);
            }
            if (result.kept) {
              // With the node's run dir set, as the lab runs them: the nodes share the host's /run.
              const scripts = (result.keptScripts ?? []).map(({ command }) => `  ${command.map(shq).join(' ')}`);
              diag(`lab ${result.kept} is still up; run a node's script inside it as the lab does (its lock and records in the lab, not in /run/macvlan-gen) with:`);
              for (const line of scripts) diag(line);
              diag(`remove it with: macvlan-gen lab down ${result.kept}`);
            }
            if (!result.ok) exitCode = EXIT.findings;
          },
        )
        .command(
          'record [config]',
          'record what plan, apply, apply again, verify and teardown print on emulated nodes, and the staged matrix',
          (yy) => configArg(yy).option('out-dir', { type: 'string', default: 'transcripts', describe: 'where to write <node>-<step>.txt' }),
          async (args) => {
            const text = readConfigText(args.config);
            const { config } = validateText(text, args.config, { strict: args.strict });
            const written = writeTextFiles(args.outDir, await recordLab(config, sha256(text), (line) => diag(line)));
            out(`wrote ${written.length} files to ${args.outDir}/: transcripts and the staged lab matrix (lab.txt)`);
          },
        )
        .command(
          'down [prefix]',
          'remove labs left running (all of them, or the one named)',
          (yy) => yy.positional('prefix', { type: 'string', describe: 'lab prefix, as printed by --keep' }),
          (args) => {
            if (process.getuid?.() !== 0) throw new EnvironmentError('lab down needs root; run it with sudo');
            const present = listLabs();
            if (args.prefix !== undefined && !present.includes(args.prefix)) {
              throw new UsageError(`no lab ${args.prefix} on this machine (present: ${present.join(', ') || 'none'})`);
            }
            const labs = args.prefix === undefined ? present : [args.prefix];
            for (const prefix of labs) {
              removeLab(prefix);
              out(`removed lab ${prefix}`);
            }
            if (labs.length === 0) out('no labs to remove');
          },
        ),
    )
    .demandCommand(1, 'name a command')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 110))
    // English throughout, as the commands' own texts are (the standalone build carries no translations of yargs' words).
    .locale('en')
    .exitProcess(false)
    .fail((message, error) => {
      // yargs' own complaints about the arguments (an option without its value) are usage errors too.
      throw error === undefined || error.name === 'YError' ? new UsageError(message ?? error?.message ?? 'bad arguments') : error;
    });

  try {
    await parser.parseAsync();
  } catch (error) {
    return reportError(error, jsonRequested);
  }
  return exitCode;
}

function parseExpectation(text: string): ExpectationOverride {
  const match = /^(.+?)<->(.+?)=(reach|none)$/.exec(text);
  if (!match) throw new UsageError(`--expect ${JSON.stringify(text)}: write A<->B=reach or A<->B=none, with endpoint names as the matrix shows them`);
  return { from: match[1] ?? '', to: match[2] ?? '', reach: match[3] === 'reach' };
}

function reportError(error: unknown, json: boolean): number {
  if (error instanceof InvalidConfigError) {
    if (json) printJson({ valid: false, config: error.sourceName, diagnostics: error.diagnostics });
    printDiagnostics(error.sourceName, error.diagnostics);
    diag(`${error.sourceName}: invalid config: ${summary(error.diagnostics)}; nothing was written`);
    return error.exitCode;
  }
  if (error instanceof UsageError) {
    diag(`macvlan-gen: ${error.message}\nRun \`macvlan-gen --help\` for usage.`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    diag(`macvlan-gen: ${error.message}`);
    return error.exitCode;
  }
  diag(`macvlan-gen: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.internal;
}

process.exitCode = await main(hideBin(process.argv));
