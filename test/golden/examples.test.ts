import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFromText } from '../../src/pipeline.js';
import { lintScripts } from '../../src/lint/lint.js';
import { configJsonSchema } from '../../src/config/schema.js';
import { EXAMPLES, ROOT } from '../support/cli.js';

const examples = readdirSync(EXAMPLES).filter((file) => file.endsWith('.yaml')).map((file) => file.slice(0, -'.yaml'.length)).sort();
const REGENERATE = 'regenerate with `npm run examples`';

describe('golden outputs: examples/*.yaml rendered match examples/out/<name>/', () => {
  it('has an output folder for exactly the examples there are', () => {
    expect(readdirSync(path.join(EXAMPLES, 'out')).sort(), REGENERATE).toEqual(examples);
  });

  describe.each(examples)('%s', (name) => {
    const configPath = path.join(EXAMPLES, `${name}.yaml`);
    const outDir = path.join(EXAMPLES, 'out', name);
    const { files } = generateFromText(readFileSync(configPath, 'utf8'), `examples/${name}.yaml`);

    it('has exactly the generated files, with their modes', () => {
      expect(readdirSync(outDir).sort(), REGENERATE).toEqual(files.map((file) => file.name).sort());
      for (const file of files) expect(statSync(path.join(outDir, file.name)).mode & 0o777, file.name).toBe(file.mode);
    });

    it.each(files.map((file) => [file.name, file] as const))('%s matches byte for byte', async (fileName, file) => {
      await expect(file.content).toMatchFileSnapshot(path.join(outDir, fileName));
    });

    it('is clean under shellcheck --enable=all --severity=style and bash -n', async () => {
      const scripts = files.filter((file) => file.name.endsWith('.sh')).map((file) => path.join(outDir, file.name));
      expect(await lintScripts(scripts)).toEqual([]);
    });
  });

  it('references the committed JSON Schema from every example, and that schema is current', () => {
    for (const name of examples) {
      expect(readFileSync(path.join(EXAMPLES, `${name}.yaml`), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/macvlan-gen\.schema\.json$/m);
    }
    const committed = JSON.parse(readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8')) as unknown;
    expect(committed, REGENERATE).toEqual(configJsonSchema());
  });
});
