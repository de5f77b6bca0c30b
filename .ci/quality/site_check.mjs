// Why this exists: the web archive must be readable where people open it. This loads pages of
// a built archive from file:// (so relative links and the stylesheet resolve as on any host)
// in Debian's headless Chromium (driven by playwright-core) at a 375 px phone viewport and
// checks: no horizontal overflow; headings in order; in dark mode (prefers-color-scheme) the
// page is dark; axe-core finds no serious or critical violation in light or dark mode.
//
// Usage: node site_check.mjs SITE_DIR PAGE…   (pages relative to SITE_DIR)
// Prints one `PASS <check>` or `FAIL <check>: <what to do>` line per check and page.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = 375;
const [site, ...pages] = process.argv.slice(2);

let failed = 0;
function report(ok, what, why) {
  if (ok) console.log(`PASS ${what}`);
  else { failed++; console.log(`FAIL ${what}: ${why}`); }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function open(url, colorScheme) {
  const context = await browser.newContext({
    viewport: { width: PHONE, height: 800 }, colorScheme, deviceScaleFactor: 1,
  });
  // The archive is static and self-contained: nothing may be fetched from the network.
  await context.route(/^https?:/, (route) => route.abort());
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load' });
  return { context, page };
}

const luminance = () => {
  const probe = document.querySelector('main') || document.body;
  let el = probe;
  while (el) {
    const c = getComputedStyle(el).backgroundColor;
    const m = c.match(/rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/);
    if (m && (m[4] === undefined || Number(m[4]) > 0.5)) {
      const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return { lum: 0.2126 * lin(+m[1]) + 0.7152 * lin(+m[2]) + 0.0722 * lin(+m[3]), color: c };
    }
    el = el.parentElement;
  }
  return { lum: 1, color: 'none (browser default white)' };
};

for (const rel of pages) {
  const url = pathToFileURL(resolve(site, rel)).href;
  for (const scheme of ['light', 'dark']) {
    const { context, page } = await open(url, scheme);
    const width = await page.evaluate(() =>
      Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
    report(width <= PHONE, `no-overflow-375px ${scheme} ${rel}`,
      `the page is ${width} px wide at ${PHONE} px; let long words wrap and drop fixed widths in templates/web/`);
    if (scheme === 'light') {
      const heads = await page.evaluate(() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
        .map((h) => Number(h.tagName[1])));
      const skips = heads.filter((l, i) => l > (i === 0 ? 0 : heads[i - 1]) + 1);
      report(heads[0] === 1 && skips.length === 0, `headings-in-order ${rel}`,
        'headings must start at h1 and never skip a level; fix templates/web/');
    } else {
      const lum = await page.evaluate(luminance);
      report(lum.lum < 0.2, `dark-mode ${rel}`,
        `in prefers-color-scheme: dark the page behind <main> is ${lum.color}; ` +
        'give it a dark background in the dark block of templates/web/partials/style.html.hbs');
    }
    await page.addScriptTag({ content: AXE });
    const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    report(bad.length === 0, `axe ${scheme} ${rel}`,
      bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} element(s), e.g. ` +
        `${v.nodes[0].target.join(' ')} — ${(v.nodes[0].failureSummary || '').replace(/\s+/g, ' ')}) ${v.helpUrl}`)
        .join('\n    '));
    await context.close();
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
