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

export function loadTemplates(directory = path.join(PACKAGE_ROOT, 'templates')): TemplateSources {
  const stepsDirectory = path.join(directory, 'steps');
  const steps = Object.fromEntries(
    readdirSync(stepsDirectory)
      .filter((file) => file.endsWith('.hbs'))
      .sort()
      .map((file) => [file.slice(0, -'.hbs'.length), readFileSync(path.join(stepsDirectory, file), 'utf8')]),
  );
  return { main: readFileSync(path.join(directory, 'node.sh.hbs'), 'utf8'), steps };
}
