// What the CLI knows about its own package: name and version, the templates, the seed example (see package-files.ts).
import { SCHEMA_FILE, SCHEMA_ID } from './config/schema.js';
import type { TemplateSources } from './render/render.js';
import { packageFiles } from './package-files.js';
import { PLAYBOOK_FILES } from './ansible/names.js';

function packageFile(name: string): string {
  const text = packageFiles().get(name);
  if (text === undefined) throw new Error(`the package has no ${name}`);
  return text;
}

const packageJson = JSON.parse(packageFile('package.json')) as { name: string; version: string };

export const PACKAGE_NAME = packageJson.name;
export const VERSION = packageJson.version;
export const GENERATOR = `${packageJson.name} ${packageJson.version}`;

export const seedExample = (): string => packageFile('examples/seed.yaml');

/** The lines `init` starts a config with: editors take its schema from the docs site, or offline from the npm package. */
export const SCHEMA_MODELINE = [
  `# yaml-language-server: $schema=${SCHEMA_ID}`,
  `# (offline, with the npm package: $schema=./node_modules/${packageJson.name}/schema/${SCHEMA_FILE})`,
].join('\n');

const TEMPLATES = 'templates';
const MAIN_TEMPLATE = 'node.sh';

/** The .hbs files directly in a folder, by name without the extension. */
function templatesIn(folder: string): Record<string, string> {
  const prefix = `${folder}/`;
  return Object.fromEntries(
    [...packageFiles()]
      .filter(([name]) => name.startsWith(prefix) && name.endsWith('.hbs') && !name.slice(prefix.length).includes('/'))
      .map(([name, text]) => [name.slice(prefix.length, -'.hbs'.length), text]),
  );
}

/** The playbooks `generate --ansible` writes, as they are (the same for every config). */
export const loadPlaybooks = (): Record<(typeof PLAYBOOK_FILES)[number], string> =>
  Object.fromEntries(PLAYBOOK_FILES.map((name) => [name, packageFile(`${TEMPLATES}/ansible/${name}`)])) as Record<(typeof PLAYBOOK_FILES)[number], string>;

export function loadTemplates(): TemplateSources {
  const { [MAIN_TEMPLATE]: main, ...partials } = templatesIn(TEMPLATES);
  if (main === undefined) throw new Error(`the package has no ${TEMPLATES}/${MAIN_TEMPLATE}.hbs`);
  return { main, steps: templatesIn(`${TEMPLATES}/steps`), partials };
}
