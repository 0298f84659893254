// The package's own files, found relative to this module (same depth in src/ and dist/).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { TemplateSources } from './render/render.js';

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

const packageJson = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

export const PACKAGE_NAME = packageJson.name;
export const VERSION = packageJson.version;
export const GENERATOR = `${packageJson.name} ${packageJson.version}`;

const MAIN_TEMPLATE = 'node.sh.hbs';

/** The .hbs files of a folder by name without the extension. */
function readTemplates(directory: string, skip: string[] = []): Record<string, string> {
  return Object.fromEntries(
    readdirSync(directory)
      .filter((file) => file.endsWith('.hbs') && !skip.includes(file))
      .sort()
      .map((file) => [file.slice(0, -'.hbs'.length), readFileSync(path.join(directory, file), 'utf8')]),
  );
}

export function loadTemplates(directory = path.join(PACKAGE_ROOT, 'templates')): TemplateSources {
  return {
    main: readFileSync(path.join(directory, MAIN_TEMPLATE), 'utf8'),
    steps: readTemplates(path.join(directory, 'steps')),
    partials: readTemplates(directory, [MAIN_TEMPLATE]),
  };
}
