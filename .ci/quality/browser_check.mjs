// Why this exists: the email-quality gate must prove the HTML part works where people read it.
// It loads each HTML part in Debian's headless Chromium (driven by playwright-core; no browser
// download) at a 375 px phone viewport and checks: no horizontal overflow (with the <style>
// block, and without it, as Gmail's mobile web client drops it); no script/forms/SVG/video;
// in dark mode (prefers-color-scheme) the content card is not left glaring white; the footer's
// side padding matches the content's at phone width; and axe-core finds no serious or critical
// accessibility violation in light or dark mode, WCAG 2.2 target size (24×24 px) included.
//
// Usage: node browser_check.mjs FILE.html…
// Prints one `PASS <check>` or `FAIL <check>: <what to do>` line per check and file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = 375;
const FORBIDDEN = 'script,form,input,button,select,textarea,svg,video,audio,iframe,object,embed,canvas';

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

async function open(html, colorScheme) {
  const context = await browser.newContext({
    viewport: { width: PHONE, height: 800 }, colorScheme, deviceScaleFactor: 1,
  });
  // An email must not fetch anything; block every request so the check is offline too.
  await context.route('**/*', (route) => route.abort());
  const page = await context.newPage();
  await page.setContent(html, { waitUntil: 'load' });
  return { context, page };
}

// Where the overflow comes from: elements that stick out of the viewport, preferring those
// with a fixed width (a width attribute or an inline px width wider than the phone).
const overflowProbe = (limit) => {
  const doc = document.documentElement;
  const width = Math.max(doc.scrollWidth, document.body ? document.body.scrollWidth : 0);
  const fixed = [];
  const other = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= limit + 0.5 || r.width === 0) continue;
    const cls = el.getAttribute('class');
    const name = el.tagName.toLowerCase() + (cls ? `.${cls.trim().split(/\s+/).join('.')}` : '');
    const attr = parseInt(el.getAttribute('width') || '0', 10);
    const styled = parseInt((el.style.width || '').endsWith('px') ? el.style.width : '0', 10);
    const what = `<${name}> (${Math.round(r.width)} px wide, ends at ${Math.round(r.right)} px` +
      `${styled > limit ? `, style width:${el.style.width}` : ''})`;
    if (styled > limit || (attr > limit && !el.style.width.endsWith('%'))) fixed.push(what);
    else other.push(what);
  }
  return { width, culprits: (fixed.length ? fixed : other).slice(0, 3) };
};

// The left and right padding of the content cell (.pad) and of the footer cell (.ftp).
const paddingProbe = () => {
  const pad = (sel) => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const cs = getComputedStyle(el);
    return { left: cs.paddingLeft, right: cs.paddingRight };
  };
  return { content: pad('.pad'), footer: pad('.ftp') };
};

// Heading levels in document order; the first must be h1 and none may skip a level.
const headingProbe = () => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
  .map((h) => ({ level: Number(h.tagName[1]), text: h.textContent.trim().slice(0, 60) }));

for (const file of process.argv.slice(2)) {
  const label = basename(file, '.html');
  const html = readFileSync(file, 'utf8');

  for (const [variant, source] of [['with <style>', html],
    ['without <style>', html.replace(/<style[\s\S]*?<\/style>/gi, '')]]) {
    const { context, page } = await open(source, 'light');
    const o = await page.evaluate(overflowProbe, PHONE);
    report(o.width <= PHONE, `no-overflow-375px ${variant} ${label}`,
      `the page is ${o.width} px wide at a ${PHONE} px viewport, so phones scroll sideways; ` +
      `too wide: ${o.culprits.join('; ')}. Use width attributes with style="width:100%;max-width:…" ` +
      'and let long words wrap (word-break/overflow-wrap).');
    if (variant === 'with <style>') {
      const bad = await page.evaluate((sel) =>
        [...document.querySelectorAll(sel)].map((e) => e.tagName.toLowerCase()), FORBIDDEN);
      const heads = await page.evaluate(headingProbe);
      const skips = [];
      heads.forEach((h, i) => {
        const prev = i === 0 ? 0 : heads[i - 1].level;
        if (h.level > prev + 1) skips.push(`h${prev || '(none)'} → h${h.level} "${h.text}"`);
      });
      report(heads.length > 0 && heads[0].level === 1 && skips.length === 0,
        `headings-in-order ${label}`,
        heads.length === 0 ? 'no headings at all; the digest needs an h1 and h2/h3 structure'
          : `headings must go h1 → h2 → h3 without skipping a level; found ${skips.slice(0, 3).join('; ')}` +
            ' — fix the heading tags in templates/');
      report(bad.length === 0, `no-script-form-svg-video ${label}`,
        `found <${[...new Set(bad)].join('>, <')}>; email clients strip or block them — remove from templates/`);
      const p = await page.evaluate(paddingProbe);
      const same = p.content && p.footer && p.content.left === p.footer.left
        && p.content.right === p.footer.right;
      report(same, `footer-padding-375px ${label}`,
        `at ${PHONE} px the content has side padding ${JSON.stringify(p.content)} but the footer ` +
        `${JSON.stringify(p.footer)}; give the footer cell the same padding in the ` +
        '@media (max-width:620px) block of templates/digest.html.hbs');
    }
    await context.close();
  }

  for (const scheme of ['light', 'dark']) {
    const { context, page } = await open(html, scheme);
    if (scheme === 'dark') {
      const lum = await page.evaluate(() => {
        const h1 = document.querySelector('h1');
        let el = h1;
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
      });
      report(lum.lum < 0.2, `dark-mode-card ${label}`,
        `in prefers-color-scheme: dark the card behind the heading is ${lum.color} ` +
        `(luminance ${lum.lum.toFixed(2)}), still glaring; give .card a dark background in ` +
        'the @media (prefers-color-scheme: dark) block of templates/digest.html.hbs');
    }
    await page.addScriptTag({ content: AXE });
    // target-size (WCAG 2.2 SC 2.5.8: 24×24 px, or spaced as far apart) is off by default in
    // axe and exempts links that sit in a line of text; a digest's links ("Abstract · PDF ·
    // Code") are tapped, not read, so a second rule runs axe's same target-size check on every
    // link, without that exemption.
    await page.evaluate(() => window.axe.configure({
      rules: [{
        id: 'target-size-every-link',
        selector: 'a[href]',
        impact: 'serious',
        tags: ['wcag22aa', 'wcag258'],
        all: [],
        any: ['target-size'],
        none: [],
        metadata: {
          description: 'Every link is at least 24 by 24 CSS pixels, or spaced as far from others',
          help: 'Links must be at least 24 by 24 CSS pixels (WCAG 2.2 SC 2.5.8)',
          helpUrl: 'https://www.w3.org/WAI/WCAG22/Understanding/target-size-minimum.html',
        },
      }],
    }));
    const res = await page.evaluate(() => window.axe.run(document, {
      resultTypes: ['violations'],
      rules: { 'target-size': { enabled: true }, 'target-size-every-link': { enabled: true } },
    }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    report(bad.length === 0, `axe ${scheme} ${label}`,
      bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length} element(s), e.g. ` +
        `${v.nodes[0].target.join(' ')} — ${(v.nodes[0].failureSummary || '').replace(/\s+/g, ' ')}) ${v.helpUrl}`)
        .join('\n    '));
    await context.close();
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
