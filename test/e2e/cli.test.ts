import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLES, ROOT, runCli, tempDir } from '../support/cli.js';
import { sha256 } from '../../src/output/assemble.js';

const SEED = path.join(EXAMPLES, 'seed.yaml');
let cwd: string;
beforeEach(() => {
  cwd = tempDir('cli');
});

const writeConfig = (name: string, text: string): string => {
  writeFileSync(path.join(cwd, name), text);
  return name;
};

describe('macvlan-gen generate', () => {
  it('writes one script per node, SHA256SUMS and manifest.json that sha256sum -c accepts', () => {
    const run = runCli(['generate', SEED], cwd);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('wrote 4 files to out/: node1.sh, node2.sh, SHA256SUMS, manifest.json\n');
    expect(run.stderr).toBe('');
    expect(readdirSync(path.join(cwd, 'out')).sort()).toEqual(['SHA256SUMS', 'manifest.json', 'node1.sh', 'node2.sh']);
    const check = runCli(['check', SEED], cwd);
    expect(check.status).toBe(0);
  });

  it('is byte-for-byte deterministic', () => {
    runCli(['generate', SEED, '--out-dir', 'a'], cwd);
    runCli(['generate', SEED, '--out-dir', 'b'], cwd);
    for (const file of readdirSync(path.join(cwd, 'a'))) {
      expect(readFileSync(path.join(cwd, 'b', file))).toEqual(readFileSync(path.join(cwd, 'a', file)));
    }
  });

  it('exits 3 on an invalid config, prints every problem with its position, and writes nothing', () => {
    const config = writeConfig('bad.yaml', 'version: 1\nnodes:\n  node1:\n    parent: eth0\n    address: 10.0.0.0/24\n    gatway: 10.0.0.1\n');
    const run = runCli(['generate', config], cwd);
    expect(run.status).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      [
        'bad.yaml: error: nodes.node1.address (line 5:14): "10.0.0.0/24" is the network address of 10.0.0.0/24; use a host address',
        'bad.yaml: error: nodes.node1.gatway (line 6:5): unknown key "gatway"; did you mean "gateway"?',
        'bad.yaml: invalid config: 2 errors, 0 warnings; nothing was written',
        '',
      ].join('\n'),
    );
    expect(existsSync(path.join(cwd, 'out'))).toBe(false);
  });

  it('exits 3 when the config cannot be read', () => {
    const run = runCli(['generate', 'missing.yaml'], cwd);
    expect(run.status).toBe(3);
    expect(run.stderr).toBe('macvlan-gen: cannot read config missing.yaml: no such file\n');
  });

  it('exits 4 rather than replace a file it did not write', () => {
    writeConfig('out', '');
    const run = runCli(['generate', SEED], cwd);
    expect(run.status).toBe(4);
    expect(run.stderr).toBe('macvlan-gen: out exists and is not a directory\n');
  });

  it('exits 2 on an unknown option', () => {
    const run = runCli(['generate', SEED, '--outdir', 'x'], cwd);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^macvlan-gen: Unknown arguments?: outdir/);
  });

  it('treats warnings as errors with --strict', () => {
    const config = writeConfig('warn.yaml', 'version: 1\nnodes:\n  node1: { parent: eth0, address: 10.0.0.2/24 }\n');
    expect(runCli(['generate', config], cwd).status).toBe(0);
    const strict = runCli(['generate', config, '--strict', '--out-dir', 'strict'], cwd);
    expect(strict.status).toBe(3);
    expect(strict.stderr).toContain('warn.yaml: error: nodes.node1 (line 3:3): node "node1" has no namespaces');
    expect(existsSync(path.join(cwd, 'strict'))).toBe(false);
  });
});

describe('macvlan-gen diagram', () => {
  it('prints the picture of the config as SVG, or writes it whole to --out', () => {
    const printed = runCli(['diagram', SEED], cwd);
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^]*<\/svg>\n$/);
    const written = runCli(['diagram', SEED, '--layout', 'narrow', '--out', 'pictures/seed.svg'], cwd);
    expect(written.status, written.stderr).toBe(0);
    expect(written.stdout).toBe('wrote pictures/seed.svg\n');
    expect(readFileSync(path.join(cwd, 'pictures', 'seed.svg'), 'utf8')).not.toBe(printed.stdout);
    expect(readdirSync(path.join(cwd, 'pictures'))).toEqual(['seed.svg']);
  });

  it('exits 3 on an invalid config and writes nothing', () => {
    const config = writeConfig('bad.yaml', 'version: 1\nnodes:\n  node1:\n    parent: eth0\n    address: 10.0.0.0/24\n');
    const run = runCli(['diagram', config, '--out', 'seed.svg'], cwd);
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('bad.yaml: error: nodes.node1.address (line 5:14)');
    expect(existsSync(path.join(cwd, 'seed.svg'))).toBe(false);
  });
});

describe('macvlan-gen generate --diagram and check', () => {
  it('writes topology.svg beside the scripts, as `diagram` draws it, in SHA256SUMS and the manifest; check finds it up to date', () => {
    const run = runCli(['generate', SEED, '--diagram'], cwd);
    expect(run).toEqual({ status: 0, stdout: 'wrote 5 files to out/: node1.sh, node2.sh, topology.svg, SHA256SUMS, manifest.json\n', stderr: '' });
    expect(readFileSync(path.join(cwd, 'out', 'topology.svg'), 'utf8')).toBe(runCli(['diagram', SEED], cwd).stdout);
    const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.join(cwd, 'out'), encoding: 'utf8' });
    expect(sums.stdout).toBe('manifest.json: OK\nnode1.sh: OK\nnode2.sh: OK\ntopology.svg: OK\n');
    const manifest = JSON.parse(readFileSync(path.join(cwd, 'out', 'manifest.json'), 'utf8')) as { diagram: unknown; files: string[] };
    expect(manifest.diagram).toEqual([{ file: 'topology.svg', sha256: sha256(readFileSync(path.join(cwd, 'out', 'topology.svg'), 'utf8')) }]);
    expect(manifest.files).toContain('topology.svg');
    expect(runCli(['check', SEED], cwd)).toMatchObject({ status: 0, stdout: `out/ is up to date with ${SEED}\n` });
    expect(runCli(['check', SEED, '--diagram'], cwd).status).toBe(0);
  });

  it('check reports an edited picture as drift, and a missing one when asked with --diagram', () => {
    runCli(['generate', SEED, '--diagram'], cwd);
    appendFileSync(path.join(cwd, 'out', 'topology.svg'), '<!-- mine -->\n');
    const check = runCli(['check', SEED], cwd);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('out/topology.svg: stale; first difference at line');
    expect(check.stdout).toContain(`run: macvlan-gen generate ${SEED} --out-dir out --diagram\n`);

    runCli(['generate', SEED, '--out-dir', 'plain'], cwd);
    expect(runCli(['check', SEED, '--out-dir', 'plain'], cwd).status).toBe(0);
    const plain = runCli(['check', SEED, '--out-dir', 'plain', '--diagram'], cwd);
    expect(plain.status).toBe(1);
    expect(plain.stdout).toContain('plain/topology.svg: missing; the config generates it\n');
  });

  it('generate without --diagram removes the picture it wrote, and leaves one that was edited', () => {
    runCli(['generate', SEED, '--diagram'], cwd);
    expect(runCli(['generate', SEED], cwd).stdout).toContain('removed files no longer generated: topology.svg\n');
    runCli(['generate', SEED, '--diagram'], cwd);
    appendFileSync(path.join(cwd, 'out', 'topology.svg'), '<!-- mine -->\n');
    expect(runCli(['generate', SEED], cwd).stdout).toContain('left files no longer generated that differ from what macvlan-gen wrote: topology.svg\n');
  });
});

describe('macvlan-gen validate', () => {
  it('reports a valid config on stdout', () => {
    const run = runCli(['validate', SEED], cwd);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${SEED}: valid (2 nodes: node1, node2; 0 errors, 0 warnings)\n`);
  });

  it('prints machine-readable results with --json, valid or not', () => {
    const ok = runCli(['validate', SEED, '--json'], cwd);
    expect(JSON.parse(ok.stdout)).toEqual({ valid: true, config: SEED, nodes: ['node1', 'node2'], diagnostics: [] });
    const config = writeConfig('bad.json', '{"version": 1, "nodes": {"node1": {"parent": "eth0"}}}');
    const bad = runCli(['validate', config, '--json'], cwd);
    expect(bad.status).toBe(3);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      config: 'bad.json',
      diagnostics: [{ severity: 'error', path: ['nodes', 'node1'], message: 'missing required key "address" (a string or a list)', line: 1, column: 35 }],
    });
  });

  it('prints warnings on stderr and still exits 0', () => {
    const config = writeConfig('warn.yaml', 'version: 1\nnodes:\n  node1: { parent: eth0, address: 10.0.0.2/24 }\n');
    const run = runCli(['validate', config], cwd);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('warn.yaml: warning: nodes.node1 (line 3:3): node "node1" has no namespaces and no hostShim; its script will change nothing but promisc\n');
  });
});

describe('macvlan-gen check', () => {
  it('exits 1 with a readable summary when committed scripts are stale, 0 once regenerated', () => {
    copyFileSync(SEED, path.join(cwd, 'fleet.yaml'));
    runCli(['generate', 'fleet.yaml'], cwd);
    writeFileSync(path.join(cwd, 'fleet.yaml'), readFileSync(SEED, 'utf8').replace('192.168.179.14/16', '192.168.179.15/16'));
    const stale = runCli(['check', 'fleet.yaml'], cwd);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain('out/node2.sh: stale; first difference at line');
    expect(stale.stdout).toContain('out/manifest.json: stale');
    expect(stale.stdout).toMatch(/4 files out of date; run: macvlan-gen generate fleet\.yaml --out-dir out\n$/);
    const json = runCli(['check', 'fleet.yaml', '--json'], cwd);
    expect(JSON.parse(json.stdout)).toMatchObject({ upToDate: false, outDir: 'out' });
    runCli(['generate', 'fleet.yaml'], cwd);
    expect(runCli(['check', 'fleet.yaml'], cwd)).toMatchObject({ status: 0, stdout: 'out/ is up to date with fleet.yaml\n' });
  });

  it('reports a missing output directory as drift', () => {
    const run = runCli(['check', SEED, '--out-dir', 'nowhere'], cwd);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('nowhere/node1.sh: missing; the config generates it');
  });
});

describe('macvlan-gen lint', () => {
  it('passes generated scripts and fails a script with findings', () => {
    runCli(['generate', SEED], cwd);
    expect(runCli(['lint'], cwd)).toMatchObject({ status: 0, stdout: '2 scripts linted: 0 findings\n' });
    writeFileSync(path.join(cwd, 'out', 'extra.sh'), '#!/usr/bin/env bash\necho $1\n');
    const run = runCli(['lint', 'out', '--json'], cwd);
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as { clean: boolean; findings: { code: string; file: string }[] };
    expect(report.clean).toBe(false);
    expect(report.findings.map((finding) => finding.code)).toContain('SC2086');
    expect(report.findings.every((finding) => finding.file === 'out/extra.sh')).toBe(true);
  });

  it('reports bash syntax errors', () => {
    runCli(['generate', SEED], cwd);
    writeFileSync(path.join(cwd, 'out', 'broken.sh'), '#!/usr/bin/env bash\nif then\n');
    const run = runCli(['lint'], cwd);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/out\/broken\.sh:2:1: error bash-n: syntax error/);
  });

  it('exits 4 when shellcheck cannot run', () => {
    runCli(['generate', SEED], cwd);
    const bin = path.join(cwd, 'shellcheck');
    writeFileSync(bin, '#!/bin/sh\nexit 3\n');
    chmodSync(bin, 0o755);
    const run = runCli(['lint'], cwd, { SHELLCHECKJS_BIN: bin });
    expect(run.status).toBe(4);
    expect(run.stderr).toMatch(/^macvlan-gen: shellcheck could not run .*apt-get install shellcheck/);
    const missing = runCli(['lint'], cwd, { SHELLCHECKJS_BIN: path.join(cwd, 'no-such-shellcheck') });
    expect(missing.status).toBe(4);
    expect(missing.stderr).toBe(`macvlan-gen: shellcheck could not start (${path.join(cwd, 'no-such-shellcheck')}: spawn ${path.join(cwd, 'no-such-shellcheck')} ENOENT); install it (apt-get install shellcheck) or set SHELLCHECKJS_BIN to its path\n`);
  });

  it('exits 2 when there is nothing to lint', () => {
    const run = runCli(['lint', 'nowhere'], cwd);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('nowhere does not exist');
  });
});

describe('macvlan-gen init and schema', () => {
  it('init writes the seed example, stable MACs included, which validates, and will not overwrite it', () => {
    const run = runCli(['init'], cwd);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('wrote macvlan-gen.yaml; next: macvlan-gen generate macvlan-gen.yaml\n');
    const [modeline, offline, ...rest] = readFileSync(path.join(cwd, 'macvlan-gen.yaml'), 'utf8').split('\n');
    expect(modeline).toBe('# yaml-language-server: $schema=https://macvlan-gen.dev/schema/v1/macvlan-gen.schema.json');
    expect(offline).toBe('# (offline, with the npm package: $schema=./node_modules/macvlan-gen/schema/macvlan-gen.schema.json)');
    expect(rest.join('\n')).toBe(readFileSync(SEED, 'utf8').split('\n').slice(1).join('\n'));
    expect(rest).toContain("  mac: auto        # the same MAC on every apply, derived from node and interface names; random: the kernel's choice");
    expect(runCli(['validate'], cwd).status).toBe(0);
    const again = runCli(['init'], cwd);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('macvlan-gen.yaml already exists; pass --force to overwrite it');
  });

  it('schema prints the committed JSON Schema', () => {
    const run = runCli(['schema'], cwd);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8')));
  });
});

describe('macvlan-gen itself', () => {
  it('prints help and version', () => {
    const help = runCli(['--help'], cwd);
    expect(help.status).toBe(0);
    for (const command of ['generate', 'validate', 'check', 'lint', 'init', 'schema']) expect(help.stdout).toContain(`macvlan-gen ${command}`);
    const version = runCli(['--version'], cwd);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('exits 2 without a command', () => {
    const run = runCli([], cwd);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('name a command');
  });
});
