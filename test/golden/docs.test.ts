import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { docsArtifacts, DOWNLOADED_EXAMPLES, STANDALONE_DOWNLOAD_FILES } from '../../docs/.vitepress/generate.js';
import { ROOT } from '../support/cli.js';

const DOCS = path.join(ROOT, 'docs');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '.vitepress' || entry.name === 'generated' ? [] : markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}

const pages = markdownFiles(DOCS);

describe('docs', () => {
  it('has every generated artifact current (npm run docs:generate)', () => {
    const artifacts = docsArtifacts();
    for (const [file, content] of artifacts) expect(readFileSync(path.join(ROOT, file), 'utf8'), file).toBe(content);
    const downloads = DOWNLOADED_EXAMPLES.flatMap((example) =>
      readdirSync(path.join(DOCS, 'public', 'downloads', example)).map((name) => `docs/public/downloads/${example}/${name}`),
    );
    expect(downloads.sort()).toEqual([...artifacts.keys()].filter((file) => file.startsWith('docs/public/downloads/')).sort());
    const pictures = readdirSync(path.join(DOCS, 'generated', 'diagrams')).map((name) => `docs/generated/diagrams/${name}`);
    expect(pictures.sort()).toEqual([...artifacts.keys()].filter((file) => file.startsWith('docs/generated/diagrams/')).sort());
  });

  it('publishes the schema at the versioned path its $id names, as `macvlan-gen schema` prints it', () => {
    const schema = readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8');
    const id = new URL((JSON.parse(schema) as { $id: string }).$id);
    expect(id.pathname).toBe('/schema/v1/macvlan-gen.schema.json');
    expect(readFileSync(path.join(DOCS, 'public', id.pathname), 'utf8')).toBe(schema);
  });

  it('has the same pages in English and Chinese', () => {
    const relative = pages.map((page) => path.relative(DOCS, page));
    const english = relative.filter((page) => !page.startsWith('zh/')).sort();
    const chinese = relative.filter((page) => page.startsWith('zh/')).map((page) => page.slice(3)).sort();
    expect(chinese).toEqual(english);
  });

  it.each(pages.map((page) => [path.relative(DOCS, page), page]))('%s: every <<< and @include target exists, with its region', (_name, page) => {
    const text = readFileSync(page, 'utf8');
    const snippets = [...text.matchAll(/^<<< @\/([^#{\s]+)(?:#([\w-]+))?/gm)].map((m) => ({ file: path.join(DOCS, m[1] ?? ''), region: m[2] }));
    const includes = [...text.matchAll(/<!--@include: ([^\s]+?)-->/g)].map((m) => ({ file: path.resolve(path.dirname(page), m[1] ?? ''), region: undefined }));
    for (const { file, region } of [...snippets, ...includes]) {
      const builtWithTheSite = STANDALONE_DOWNLOAD_FILES.includes(path.relative(ROOT, file));
      expect(existsSync(file) || builtWithTheSite, `${path.relative(ROOT, file)} is missing`).toBe(true);
      if (region) expect(readFileSync(file, 'utf8'), `${path.relative(ROOT, file)} has no region ${region}`).toMatch(new RegExp(`^\\s*# region ${region}$[\\s\\S]*^\\s*# endregion ${region}$`, 'm'));
    }
  });

  it.each(['', 'zh/'])('the %sdownloads page offers the standalone generator and shows the SHA256SUMS built with the site', (prefix) => {
    const page = readFileSync(path.join(DOCS, prefix, 'downloads.md'), 'utf8');
    for (const file of STANDALONE_DOWNLOAD_FILES) expect(page).toContain(`<a href="/${path.relative('docs/public', file)}" download>`);
    expect(page).toContain(`<<< @/${path.relative('docs', STANDALONE_DOWNLOAD_FILES[1] ?? '')}\n`);
  });

  it('embeds every step of the node script on its own page, in both languages', () => {
    const script = readFileSync(path.join(DOCS, 'public', 'downloads', 'seed', 'node1.sh'), 'utf8');
    const regions = [...script.matchAll(/^\s*# region ([\w-]+)$/gm)].map((m) => m[1]);
    for (const step of ['promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'host-shim']) {
      expect(regions).toContain(step);
      for (const prefix of ['', 'zh/']) {
        expect(readFileSync(path.join(DOCS, prefix, 'guide', 'steps', `${step}.md`), 'utf8')).toContain(`<<< @/public/downloads/seed/node1.sh#${step}`);
      }
    }
  });
});
