// Why this exists: the README shows the web archive as readers see it, from the real
// templates. scripts/screenshots.sh builds an archive from the bundled sample; this takes the
// headless-Chromium (Debian's, via playwright-core) screenshots of its index and its newest
// edition page, opened from file:// like any static host would serve them.
//
// Usage: node site_screenshots.mjs SITE_DIR EDITION OUT_DIR
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [site, edition, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const shots = [
  ['archive-index.png', 'index.html', 800, 900, 'light'],
  ['archive-edition.png', `${edition}/index.html`, 800, 1200, 'light'],
  ['archive-edition-phone-dark.png', `${edition}/index.html`, 375, 1200, 'dark'],
];
for (const [name, page, width, height, scheme] of shots) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, colorScheme: scheme });
  await context.route(/^https?:/, (route) => route.abort());
  const tab = await context.newPage();
  await tab.goto(pathToFileURL(resolve(site, page)).href, { waitUntil: 'load' });
  await tab.screenshot({ path: join(outDir, name), clip: { x: 0, y: 0, width, height } });
  console.log(`wrote ${join(outDir, name)}`);
  await context.close();
}
await browser.close();
