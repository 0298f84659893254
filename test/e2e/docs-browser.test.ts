// The built docs site in a real headless Chromium: every page in both languages renders without console errors and
// without broken internal links, each step page shows the generator's command text, the language switch and the
// search work, and every download is byte for byte what SHA256SUMS lists.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { writeStandaloneDownload } from '../../docs/.vitepress/generate.js';
import { ROOT, runCli, tempDir } from '../support/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (process.env['CI'] && !hasChromium) throw new Error('CI installs chromium: the browser test must run there, not be skipped');

const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');
const STEPS = ['promisc', 'netns', 'macvlan-link', 'move-to-netns', 'address', 'link-up', 'routes', 'host-shim'];

function htmlPages(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'assets' || name === 'downloads' ? [] : htmlPages(full, base);
    return name.endsWith('.html') && name !== '404.html' ? [`/${path.relative(base, full)}`] : [];
  });
}

/** The script lines of one step, as the region in the generated script has them. */
function regionCommands(step: string): string[] {
  const script = readFileSync(path.join(ROOT, 'docs', 'public', 'downloads', 'seed', 'node1.sh'), 'utf8');
  const region = new RegExp(`# region ${step}\\n([\\s\\S]*?)\\n\\s*# endregion ${step}`).exec(script)?.[1] ?? '';
  return region.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

describe.skipIf(!hasChromium)('the docs site in Chromium', () => {
  let site: string;
  let server: Server;
  let base: string;
  let browser: Browser;
  let standaloneSha256: string;

  beforeAll(async () => {
    site = tempDir('site');
    standaloneSha256 = await writeStandaloneDownload();
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'vitepress', 'bin', 'vitepress.js'), 'build', 'docs', '--outDir', site], { cwd: ROOT, stdio: 'pipe' });
    server = createServer((request, response) => {
      const url = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
      const file = path.join(site, url.endsWith('/') ? `${url}index.html` : url);
      if (!file.startsWith(site) || !existsSync(file) || statSync(file).isDirectory()) {
        response.writeHead(404).end('not found');
        return;
      }
      const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/octet-stream';
      response.writeHead(200, { 'content-type': type }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('renders every page in both languages with no console error and no broken internal link', async () => {
    const pages = htmlPages(site);
    expect(pages.length).toBeGreaterThanOrEqual(34);
    expect(pages.filter((page) => page.startsWith('/zh/')).length * 2).toBe(pages.length);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
    const links = new Set<string>();
    for (const url of pages) {
      const response = await page.goto(`${base}${url}`);
      expect(response?.status(), url).toBe(200);
      const hrefs = await page.$$eval('a[href]', (anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
      for (const href of hrefs) if (href.startsWith(base)) links.add(href.split('#')[0] ?? href);
    }
    const broken: string[] = [];
    for (const link of links) {
      const response = await fetch(link);
      if (response.status !== 200) broken.push(`${link}: ${response.status}`);
    }
    expect(broken).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it.each(['', '/zh'])('each step page%s shows the command text the generator produced for that step', async (prefix) => {
    const page = await browser.newPage();
    for (const step of STEPS) {
      await page.goto(`${base}${prefix}/guide/steps/${step}.html`);
      const code = (await page.$$eval('div[class*="language-"] pre', (blocks) => blocks.map((block) => block.textContent ?? ''))).join('\n');
      const commands = regionCommands(step);
      expect(commands.length, step).toBeGreaterThan(0);
      for (const command of commands) expect(code, `${prefix}/guide/steps/${step}`).toContain(command);
    }
    await page.close();
  });

  it('switches language to the matching page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/guide/steps/host-shim.html`);
    const toChinese = await page.$$eval('a[href*="/zh/"]', (anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(toChinese).toContain('/zh/guide/steps/host-shim.html');
    await page.goto(`${base}/zh/guide/steps/host-shim.html`);
    const toEnglish = await page.$$eval('.VPNavBarTranslations a, .VPNavScreenTranslations a', (anchors) => anchors.map((a) => a.getAttribute('href')));
    expect(toEnglish).toContain('/guide/steps/host-shim.html');
    await page.close();
  });

  it('finds "promisc" with the local search', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.click('.DocSearch, .VPNavBarSearch button');
    const input = await page.waitForSelector('input.search-input', { timeout: 30_000 });
    await input.fill('promisc');
    await page.waitForSelector('.result', { timeout: 30_000 });
    const results = await page.$$eval('.result', (items) => items.map((item) => item.textContent ?? ''));
    expect(results.some((text) => /promisc/i.test(text))).toBe(true);
    await page.close();
  });

  it('serves every download with exactly the bytes SHA256SUMS lists', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/downloads.html`);
    const hrefs = await page.$$eval('a[download]', (anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
    const sums = await (await fetch(`${base}/downloads/seed/SHA256SUMS`)).text();
    const listed = new Map(sums.trim().split('\n').map((line) => [line.split('  ')[1] ?? '', line.split('  ')[0] ?? ''] as const));
    expect([...listed.keys()].every((name) => hrefs.some((href) => href.endsWith(`/downloads/seed/${name}`)))).toBe(true);
    for (const [name, sum] of listed) {
      const bytes = Buffer.from(await (await fetch(`${base}/downloads/seed/${name}`)).arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(sum);
    }
    await page.close();
  });

  it.each(['', '/zh'])('%s/downloads: the standalone generator, with the SHA256 of the very bytes served', async (prefix) => {
    const page = await browser.newPage();
    await page.goto(`${base}${prefix}/downloads.html`);
    const code = (await page.$$eval('div[class*="language-"] pre', (blocks) => blocks.map((block) => block.textContent ?? ''))).join('\n');
    expect(code).toContain(`${standaloneSha256}  macvlan-gen.mjs`);
    const hrefs = await page.$$eval('a[download]', (anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
    expect(hrefs).toContain(`${base}/downloads/standalone/macvlan-gen.mjs`);
    const bytes = Buffer.from(await (await fetch(`${base}/downloads/standalone/macvlan-gen.mjs`)).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(standaloneSha256);
    expect(await (await fetch(`${base}/downloads/standalone/SHA256SUMS`)).text()).toBe(`${standaloneSha256}  macvlan-gen.mjs\n`);
    await page.close();
  });

  it('serves the schema where its $id and the modeline init writes point', async () => {
    const schema = readFileSync(path.join(ROOT, 'schema', 'macvlan-gen.schema.json'), 'utf8');
    const published = new URL((JSON.parse(schema) as { $id: string }).$id);
    expect(await (await fetch(`${base}${published.pathname}`)).text()).toBe(schema);
  });

  it('never scrolls a page sideways on a 390 px phone (code blocks and tables scroll inside themselves)', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const sideways: string[] = [];
    for (const url of htmlPages(site)) {
      await page.goto(`${base}${url}`);
      const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
      if (scrollWidth > clientWidth) sideways.push(`${url}: ${scrollWidth} px wide in ${clientWidth}`);
    }
    expect(sideways).toEqual([]);
    await page.close();
  });

  it.each(['', '/zh'])('%s: the topology pictures, and a step page\'s reachability drawn on one, wide on a desktop and narrow on a phone, in light and dark mode, with screenshots', async (prefix) => {
    const language = prefix === '' ? 'en' : 'zh';
    interface Shown {
      layout: string;
      width: number;
      parentFill: string;
      /** The reachability picture's lines, the stroke of a reach line, and the pairs listed under the picture. */
      lines: number;
      reachStroke: string;
      listed: number;
    }
    const shown = async (width: number, dark: boolean, computer: 'light' | 'dark' = 'light'): Promise<Shown[]> => {
      const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: computer });
      await context.addInitScript((appearance) => localStorage.setItem('vitepress-theme-appearance', appearance), dark ? 'dark' : 'light');
      const page = await context.newPage();
      const result: Shown[] = [];
      for (const [name, url] of [
        ['home', `${prefix}/`],
        ['what-is-macvlan', `${prefix}/guide/what-is-macvlan.html`],
        ['host-shim', `${prefix}/guide/steps/host-shim.html`],
      ] as const) {
        await page.goto(`${base}${url}`);
        await page.waitForSelector('.topology svg', { state: 'attached' });
        const visible = await page.$$eval('.topology > div', (divs) =>
          divs
            .filter((div) => (div as HTMLElement).offsetWidth > 0)
            .map((div) => {
              const svg = div.querySelector('svg');
              const rect = div.querySelector('rect.parent');
              const reach = div.querySelector('path.pair.reach');
              return {
                layout: div.className,
                width: svg?.getBoundingClientRect().width ?? 0,
                parentFill: rect ? getComputedStyle(rect).fill : '',
                lines: div.querySelectorAll('g.line').length,
                reachStroke: reach ? getComputedStyle(reach).stroke : '',
                listed: div.parentElement?.querySelectorAll('details.pairs li').length ?? 0,
              };
            }),
        );
        result.push(...visible);
        const picture = await page.$('.topology');
        await picture?.screenshot({ path: path.join(SCREENSHOTS, `topology-${name}-${language}-${width}${dark ? '-dark' : ''}.png`) });
      }
      await context.close();
      return result;
    };
    const desktop = await shown(1280, false);
    expect(desktop.map((p) => p.layout)).toEqual(['wide', 'wide', 'wide']);
    const phone = await shown(390, false);
    expect(phone.map((p) => p.layout)).toEqual(['narrow', 'narrow', 'narrow']);
    for (const picture of [...desktop, ...phone]) expect(picture.width).toBeGreaterThan(250);
    for (const picture of phone) expect(picture.width).toBeLessThanOrEqual(390);
    // The seed's last stage: 21 pairs drawn, and listed in words under the picture.
    for (const pictures of [desktop, phone]) expect(pictures.map((p) => [p.lines, p.listed])).toEqual([[0, 0], [0, 0], [21, 21]]);
    const dark = await shown(1280, true);
    expect(dark[0]?.parentFill).not.toBe(desktop[0]?.parentFill);
    expect(dark[2]?.reachStroke).not.toBe(desktop[2]?.reachStroke);
    // A computer set to dark with the site switched to light: the pictures follow the site.
    const siteLight = await shown(1280, false, 'dark');
    expect(siteLight.map((p) => [p.parentFill, p.reachStroke])).toEqual(desktop.map((p) => [p.parentFill, p.reachStroke]));
    expect(readdirSync(SCREENSHOTS).filter((file) => file.startsWith(`topology-home-${language}-`))).toHaveLength(3);
    expect(readdirSync(SCREENSHOTS).filter((file) => file.startsWith(`topology-host-shim-${language}-`))).toHaveLength(3);
  });

  it.each(['', '/zh'])('%s/playground: a bad address shows its line as it is typed; the fixed config gives the files generate --diagram writes, byte for byte, with their SHA-256; nothing leaves the page', async (prefix) => {
    const seedText = readFileSync(path.join(ROOT, 'examples', 'seed.yaml'), 'utf8');
    const cwd = tempDir('playground');
    writeFileSync(path.join(cwd, 'seed.yaml'), seedText);
    const bad = seedText.replace('address: 192.168.179.12/16', 'address: 192.168.179.300/16');
    writeFileSync(path.join(cwd, 'bad.yaml'), bad);
    const generated = runCli(['generate', 'seed.yaml', '--out-dir', 'out', '--diagram'], cwd);
    expect(generated.status, generated.stderr).toBe(0);
    const cliError = runCli(['validate', 'bad.yaml'], cwd).stderr.split('\n').find((line) => line.startsWith('bad.yaml: error: '));
    expect(cliError).toMatch(/\(line \d+:\d+\)/);

    const page = await browser.newPage();
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('blob:') && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });
    await page.goto(`${base}${prefix}/playground.html`);
    const editor = page.locator('#playground-config');
    await editor.waitFor();
    await page.waitForSelector('.playground table.files');
    await editor.fill(bad);
    const problem = page.locator('.playground .problems li.error').first();
    await problem.waitFor();
    expect(await problem.textContent()).toBe(cliError?.replace('bad.yaml: ', 'playground.yaml: '));
    expect(await page.locator('.playground table.files').count()).toBe(0);

    await editor.fill(seedText);
    await page.waitForSelector('.playground table.files');
    const links = await page.$$eval('.playground table.files a[download]', (anchors) => anchors.map((a) => ({ name: a.getAttribute('download') ?? '', href: (a as HTMLAnchorElement).href })));
    const written = readdirSync(path.join(cwd, 'out')).filter((name) => !name.startsWith('.')).sort();
    expect(links.map((link) => link.name).sort()).toEqual(written);
    const sums = new Map(readFileSync(path.join(cwd, 'out', 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => [line.slice(66), line.slice(0, 64)] as const));
    for (const link of links) {
      const bytes = Buffer.from(await page.evaluate(async (href) => Array.from(new Uint8Array(await (await fetch(href)).arrayBuffer())), link.href));
      expect(bytes.equals(readFileSync(path.join(cwd, 'out', link.name))), link.name).toBe(true);
      if (sums.has(link.name)) expect(createHash('sha256').update(bytes).digest('hex'), link.name).toBe(sums.get(link.name));
    }
    expect(await page.locator('.playground .picture svg').count()).toBe(2);
    expect(await page.locator('.playground .picture svg:visible').count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, `playground-${prefix === '' ? 'en' : 'zh'}.png`), fullPage: true });
    expect(elsewhere).toEqual([]);
    await page.close();
  });

  it('copies a code block with its copy button', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = await context.newPage();
    await page.goto(`${base}/guide/quick-start.html`);
    const block = page.locator('div[class*="language-"]').first();
    await block.hover();
    await block.locator('button.copy').click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.trim()).toBe((await block.locator('pre').textContent())?.trim());
    expect(copied.length).toBeGreaterThan(10);
    await context.close();
  });

  it('saves screenshots of the home and host-shim pages in both languages', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    for (const [name, url] of [
      ['home-en', '/'],
      ['home-zh', '/zh/'],
      ['host-shim-en', '/guide/steps/host-shim.html'],
      ['host-shim-zh', '/zh/guide/steps/host-shim.html'],
    ] as const) {
      await page.goto(`${base}${url}`);
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      expect(statSync(file).size).toBeGreaterThan(10_000);
    }
    await page.close();
  });
});
