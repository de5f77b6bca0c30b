// Why this exists: the README shows the seed's digest as readers see it, and those pictures
// must come from the real templates, not from a mock-up. scripts/screenshots.sh renders the
// digest with `paperwire preview`; this takes the headless-Chromium (Debian's, via
// playwright-core) screenshots: desktop (800 px) and phone (375 px), light and dark
// (prefers-color-scheme), cropped to the top 1200 px of the email.
//
// Usage: node screenshots.mjs DIGEST.html OUT_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [file, outDir] = process.argv.slice(2);
const html = readFileSync(file, 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const HEIGHT = 1200;
const shots = [
  ['digest-desktop.png', 800, 'light'],
  ['digest-phone.png', 375, 'light'],
  ['digest-phone-dark.png', 375, 'dark'],
];
// EXTRA=1: more views for a manual look (not for the README): desktop dark, and the phone view
// under forced colour inversion, which is what Gmail's apps do to a light email.
if (process.env.EXTRA === '1') {
  shots.push(['digest-desktop-dark.png', 800, 'dark'], ['digest-phone-inverted.png', 375, 'invert']);
}
for (const [name, width, mode] of shots) {
  const height = HEIGHT;
  const context = await browser.newContext({
    viewport: { width, height }, deviceScaleFactor: 1,
    colorScheme: mode === 'dark' ? 'dark' : 'light',
  });
  await context.route('**/*', (route) => route.abort());
  const page = await context.newPage();
  await page.setContent(html, { waitUntil: 'load' });
  if (mode === 'invert') {
    await page.addStyleTag({ content: 'html{filter:invert(1) hue-rotate(180deg)}' });
  }
  await page.screenshot({ path: join(outDir, name), clip: { x: 0, y: 0, width, height } });
  console.log(`wrote ${join(outDir, name)}`);
  await context.close();
}
await browser.close();
