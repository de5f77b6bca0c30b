// Why this exists: the end-to-end acceptance test of readers' self-service (issue 14), in a
// real browser. .ci/signup_e2e.sh starts `paperwire serve` with signup open and an outbox
// transport; this drives Debian's headless Chromium (playwright-core, no browser download)
// through a reader's whole path and checks each page on the way:
//   1. /subscribe: fill the form (email, name, two topics, plain text), submit, "check your inbox";
//   2. the confirmation message from the outbox (its HTML part checked like a page, with the
//      email html-validate config): its link opens the confirm page, whose button adds the
//      reader — at once for every reader of the list (`paperwire subscribers list`, which applies
//      the change log), and in subscribers.toml once serve has folded the log into it — with the
//      chosen topics and format;
//   3. `paperwire send`: the reader's digest has a "Manage your subscription" link in both
//      parts; it opens the preference page, where other topics are chosen and saved;
//   4. the next `paperwire send` follows the new topics;
//   5. that digest's Unsubscribe link: the confirm page (a page of the same family) changes
//      nothing; its button unsubscribes.
// Every page: no horizontal overflow at 375 px, axe-core with no serious or critical violation
// in light and dark mode (WCAG 2.2 target size on), html-validate clean (.ci/quality/
// htmlvalidate-pages.cjs), no <script>. SCREENSHOTS=DIR writes the README's pictures.
//
// Usage: node signup_e2e.mjs BASE_URL WORK_DIR PAPERWIRE_BINARY
// Prints `PASS <check>` / `FAIL <check>: <why>` lines and `N passed, M failed`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [base, work, binary] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const PHONE = 375;
const READER = 'lin.wei@example.org';
const shots = process.env.SCREENSHOTS || '';

let passed = 0;
let failed = 0;
function report(ok, what, why) {
  if (ok) { passed++; console.log(`PASS ${what}`); } else { failed++; console.log(`FAIL ${what}: ${why}`); }
  return ok;
}
function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

// --- the outbox and the binary ---------------------------------------------------------------
function outbox() {
  const dir = join(work, 'outbox');
  let names = [];
  try { names = readdirSync(dir).filter((n) => n.endsWith('.eml')).sort(); } catch { /* none yet */ }
  return names.map((n) => readFileSync(join(dir, n), 'latin1'));
}

// The decoded body of each part (quoted-printable, as paperwire and lettre write them).
function parts(raw) {
  const out = [];
  const text = raw.replace(/\r\n/g, '\n');
  const boundary = (text.match(/boundary="?([^";\n]+)"?/i) || [])[1];
  // A single-part message is one section: its headers, then its body.
  const sections = boundary ? text.split(`\n--${boundary}`) : [text];
  for (const section of sections) {
    const at = section.indexOf('\n\n');
    if (at < 0) continue;
    const head = section.slice(0, at);
    const type = (head.match(/^Content-Type:\s*([^;\n]+)/im) || [])[1];
    if (!type || !type.startsWith('text/')) continue;
    let body = section.slice(at + 2);
    if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(head)) {
      body = Buffer.from(body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g,
        (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    }
    out.push({ type: type.trim(), body });
  }
  return out;
}

function to(raw) {
  return ((raw.match(/^To:.*$/im) || [''])[0].match(/[\w.+-]+@[\w.-]+/) || [''])[0];
}

function messagesTo(address) {
  return outbox().filter((m) => to(m).toLowerCase() === address);
}

function run(args) {
  return execFileSync(binary, ['--config', join(work, 'paperwire.toml'), ...args],
    { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// The reader's entry in subscribers.toml itself ('' while it is not there).
function entryInFile(address) {
  const text = readFileSync(join(work, 'subscribers.toml'), 'utf8');
  const at = text.indexOf(`email = "${address}"`);
  if (at < 0) return '';
  const next = text.indexOf('[[subscriber]]', at);
  return text.slice(at, next < 0 ? undefined : next);
}

// Waits (up to 10 s) for serve's fold to write an entry that `wanted` accepts; the last one seen.
async function foldedEntry(address, wanted) {
  const until = Date.now() + 10000;
  for (;;) {
    const entry = entryInFile(address);
    if (wanted(entry) || Date.now() > until) return entry;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function subscriber(address) {
  const list = JSON.parse(run(['subscribers', 'list', '--json']));
  const rows = Array.isArray(list) ? list : (list.subscribers || []);
  return rows.find((s) => String(s.email).toLowerCase() === address);
}

async function waitFor(predicate, what, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- checks on every page --------------------------------------------------------------------
const pagesDir = mkdtempSync(join(tmpdir(), 'signup-pages-'));
let pageCount = 0;

async function checkPage(page, label) {
  // The HTML as served, for html-validate.
  const file = join(pagesDir, `${String(++pageCount).padStart(2, '0')}-${label}.html`);
  writeFileSync(file, (await rawHtml(page)) || (await page.content()));
  const scripts = await page.evaluate(() => document.querySelectorAll('script').length);
  report(scripts === 0, `no-script ${label}`, `${scripts} <script> element(s) on the page`);
  const width = await page.evaluate(() => Math.max(document.documentElement.scrollWidth,
    document.body.scrollWidth));
  report(width <= PHONE, `no-overflow-375px ${label}`,
    `the page is ${width} px wide at a ${PHONE} px viewport; fix templates/pages/`);
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    if (scheme === 'dark') {
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('main')).backgroundColor);
      const m = bg.match(/\d+/g).map(Number);
      report(m[0] + m[1] + m[2] < 200, `dark-mode ${label}`,
        `the card is ${bg} in dark mode; give main a dark background in templates/pages/layout.html.hbs`);
    }
    await page.addScriptTag({ content: AXE });
    const res = await page.evaluate(() => window.axe.run(document, {
      resultTypes: ['violations'], rules: { 'target-size': { enabled: true } },
    }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    report(bad.length === 0, `axe ${scheme} ${label}`, bad.map((v) => `${v.impact} ${v.id}: ` +
      `${v.help} (${v.nodes.length} element(s), e.g. ${v.nodes[0].target.join(' ')})`).join('; '));
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

// The confirmation message's HTML part, as a mail client would show it: offline, at 375 px,
// light and dark, axe-core (html-validate with the email config runs at the end).
const mailDir = mkdtempSync(join(tmpdir(), 'signup-mail-'));
async function checkMessageHtml(html, label) {
  for (const scheme of ['light', 'dark']) {
    const ctx = await browser.newContext({ viewport: { width: PHONE, height: 800 }, colorScheme: scheme });
    await ctx.route('**/*', (route) => route.abort());
    const p = await ctx.newPage();
    await p.setContent(html, { waitUntil: 'load' });
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    if (scheme === 'light') {
      report(width <= PHONE, `no-overflow-375px ${label}`, `the message is ${width} px wide at ${PHONE} px`);
    }
    await p.addScriptTag({ content: AXE });
    const res = await p.evaluate(() => window.axe.run(document, {
      resultTypes: ['violations'], rules: { 'target-size': { enabled: true } },
    }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    report(bad.length === 0, `axe ${scheme} ${label}`, bad.map((v) => `${v.impact} ${v.id}: ${v.help}`).join('; '));
    await ctx.close();
  }
}

// The last document response's body, exactly as the server sent it (a promise per page).
const lastHtml = new WeakMap();
async function rawHtml(page) { return lastHtml.get(page); }

// In a context that keeps the Content-Security-Policy: the page's own styles apply (their
// hashes are in the policy) and no script can run.
async function checkPolicy() {
  const strict = await browser.newContext({ viewport: { width: PHONE, height: 900 } });
  await strict.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  const p = await strict.newPage();
  await p.goto(`${base}/subscribe`);
  const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  report(bg === 'rgb(238, 241, 245)', 'csp-allows-the-page-styles',
    `the body's background is ${bg} under the page's own policy: the <style> hash is not allowed`);
  let ran = true;
  try {
    await p.addScriptTag({ content: 'window.__ran = true;' });
    ran = await p.evaluate(() => window.__ran === true);
  } catch { ran = false; }
  report(!ran, 'csp-blocks-scripts', 'an inline script ran under the page\'s policy');
  await strict.close();
}

async function shot(page, name, dark = false) {
  if (!shots) return;
  await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
  await page.screenshot({ path: join(shots, name), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  console.log(`wrote ${join(shots, name)}`);
}

// --- the reader's path -----------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
// axe is injected as a script, which the pages' Content-Security-Policy forbids (checked on its
// own below, in a context that keeps the policy): this context bypasses it.
const context = await browser.newContext({
  viewport: { width: PHONE, height: 900 }, deviceScaleFactor: 1, bypassCSP: true,
});
// Only the server under test may be reached.
await context.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
const page = await context.newPage();
page.on('response', (response) => {
  if (response.request().resourceType() === 'document') {
    lastHtml.set(page, response.text().catch(() => ''));
  }
});

try {
  // 1. The form.
  let response = await page.goto(`${base}/subscribe`);
  report(response.status() === 200, 'subscribe-form-opens', `GET /subscribe answered ${response.status()}`);
  const csp = response.headers()['content-security-policy'] || '';
  report(csp.includes("default-src 'none'") && !csp.includes('script') && csp.includes("frame-ancestors 'none'"),
    'subscribe-form-csp', `Content-Security-Policy is ${JSON.stringify(csp)}`);
  await checkPage(page, 'subscribe');
  await checkPolicy();
  await shot(page, 'signup-phone.png');
  await page.getByLabel('Email address', { exact: true }).fill(READER);
  await page.getByLabel('Name (optional)', { exact: true }).fill('Lin Wei');
  await page.getByLabel('Federated Learning', { exact: true }).check();
  await page.getByLabel('Graphs', { exact: true }).check();
  await page.getByLabel('Plain text only', { exact: true }).check();
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Subscribe' }).click()]);
  await page.waitForSelector('h1');
  report((await page.locator('h1').innerText()).includes('Check your inbox'), 'subscribe-submits',
    `after submitting, the page says ${JSON.stringify(await page.locator('h1').innerText())}`);
  await checkPage(page, 'check-inbox');
  report(subscriber(READER) === undefined, 'nothing-added-before-confirming',
    `${READER} is on the list before confirming`);

  // 2. The confirmation message.
  const confirmMail = await waitFor(() => messagesTo(READER)[0], 'the confirmation message');
  const confirmText = parts(confirmMail).find((p) => p.type === 'text/plain').body;
  const confirmHtml = (parts(confirmMail).find((p) => p.type === 'text/html') || {}).body || '';
  writeFileSync(join(mailDir, 'confirmation.html'), confirmHtml);
  await checkMessageHtml(confirmHtml, 'confirmation-message');
  const confirmUrl = (confirmText.match(new RegExp(`${base}/confirm\\?token=[\\w.-]+`)) || [])[0];
  report(Boolean(confirmUrl), 'confirmation-has-a-link', `no ${base}/confirm link in:\n${confirmText}`);
  report(/Subject: Confirm your subscription/i.test(confirmMail), 'confirmation-subject',
    'the confirmation message has no "Confirm your subscription" subject');
  response = await page.goto(confirmUrl);
  report(response.status() === 200, 'confirm-page-opens', `GET /confirm answered ${response.status()}`);
  const shown = await page.locator('main').innerText();
  report(shown.includes('Federated Learning, Graphs') && shown.includes('Plain text only'),
    'confirm-page-shows-the-request', `the confirm page says: ${shown}`);
  report(subscriber(READER) === undefined, 'opening-the-link-changes-nothing',
    'GET /confirm added the reader');
  await checkPage(page, 'confirm');
  await Promise.all([page.waitForLoadState('load'),
    page.getByRole('button', { name: 'Confirm my subscription' }).click()]);
  await page.waitForSelector('h1');
  report((await page.locator('h1').innerText()).includes('You are subscribed'), 'confirm-button-subscribes',
    `after confirming, the page says ${JSON.stringify(await page.locator('h1').innerText())}`);
  await checkPage(page, 'subscribed');
  // It counts at once: the change is in the log, which every reader of the list applies...
  const added = subscriber(READER);
  report(added && JSON.stringify(added.topics) === JSON.stringify(['Federated Learning', 'Graphs'])
    && added.format === 'text', 'subscriber-on-the-list', `the list has ${JSON.stringify(added)}`);
  // ...and serve's fold writes it into subscribers.toml.
  const entry = await foldedEntry(READER, (e) => e.includes('topics = ["Federated Learning", "Graphs"]'));
  report(entry.includes('topics = ["Federated Learning", "Graphs"]') && entry.includes('format = "text"')
    && entry.includes('name = "Lin Wei"'), 'subscriber-in-subscribers-toml',
  `after the fold, subscribers.toml has for ${READER}: ${JSON.stringify(entry)}`);

  // 3. A digest, and its preference link.
  run(['send', '--edition', 'e2e-1']);
  const digest = messagesTo(READER).find((m) => !/Subject: Confirm/i.test(m));
  const digestText = digest ? parts(digest).find((p) => p.type === 'text/plain').body : '';
  const prefsUrl = (digestText.match(new RegExp(`Manage your subscription: (${base}/preferences\\?token=[\\w.-]+)`)) || [])[1];
  report(Boolean(prefsUrl), 'digest-has-a-preference-link', `no "Manage your subscription" link in:\n${digestText}`);
  response = await page.goto(prefsUrl);
  report(response.status() === 200, 'preference-page-opens', `GET /preferences answered ${response.status()}`);
  report(await page.getByLabel('Federated Learning', { exact: true }).isChecked() && await page.getByLabel('Plain text only', { exact: true }).isChecked(),
    'preference-page-shows-the-choices', 'the preference page does not show the confirmed topics and format');
  await checkPage(page, 'preferences');
  await shot(page, 'preferences-phone.png');
  await shot(page, 'preferences-phone-dark.png', true);
  await page.getByLabel('Federated Learning', { exact: true }).uncheck();
  await page.getByLabel('Graphs', { exact: true }).uncheck();
  await page.getByLabel('Pruning & Compression', { exact: true }).check();
  await Promise.all([page.waitForLoadState('load'),
    page.getByRole('button', { name: 'Save my preferences' }).click()]);
  await page.waitForSelector('.notice');
  report((await page.locator('.notice').innerText()).startsWith('Saved.'), 'preferences-save',
    'no "Saved." notice after saving');
  await checkPage(page, 'preferences-saved');
  const changed = subscriber(READER);
  report(changed && JSON.stringify(changed.topics) === JSON.stringify(['Pruning & Compression']),
    'preferences-on-the-list', `the list has ${JSON.stringify(changed)}`);
  const saved = await foldedEntry(READER, (e) => e.includes('topics = ["Pruning & Compression"]'));
  report(saved.includes('topics = ["Pruning & Compression"]'), 'preferences-in-subscribers-toml',
    `after the fold, subscribers.toml has for ${READER}: ${JSON.stringify(saved)}`);

  // 4. The next send follows the new topics (same papers: a fresh state, so none counts as sent).
  rmSync(join(work, 'state'), { recursive: true, force: true });
  rmSync(join(work, 'outbox'), { recursive: true, force: true });
  run(['send', '--edition', 'e2e-2']);
  const next = messagesTo(READER)[0];
  const nextText = next ? parts(next).find((p) => p.type === 'text/plain').body : '';
  report(nextText.includes('Your topics: Pruning & Compression.') && !/^Federated Learning$/m.test(nextText)
    && !/^Graphs$/m.test(nextText), 'next-send-honours-the-preferences',
    `the next digest to ${READER} reads:\n${nextText.slice(0, 1500)}`);
  // Two bad fields: both reported, each next to its input (aria-describedby), nothing saved.
  await page.goto(prefsUrl);
  await page.getByLabel('Interests', { exact: true }).fill('KV* cache');
  await page.getByLabel('Papers you liked', { exact: true }).fill('bad');
  await Promise.all([page.waitForLoadState('load'),
    page.getByRole('button', { name: 'Save my preferences' }).click()]);
  const described = async (id) => {
    const by = (await page.locator(`#${id}`).getAttribute('aria-describedby')) || '';
    return by.split(' ').includes(`${id}_error`) && (await page.locator(`#${id}_error`).count()) === 1;
  };
  report(await described('interests') && await described('like')
    && (await page.locator('[aria-invalid="true"]').count()) === 2,
    'preferences-every-bad-field', 'the page does not report both bad fields next to their inputs');
  await checkPage(page, 'preferences-errors');
  const others = await page.goto(`${base}/preferences?token=forged.token`);
  report(others.status() === 403, 'forged-link-403', `a forged link answered ${others.status()}`);
  await checkPage(page, 'refused');

  // 5. The digest's Unsubscribe link: a page of the same family; only its button unsubscribes.
  const unsubscribeUrl = (nextText.match(new RegExp(`Unsubscribe: (${base}/unsubscribe\\?token=[\\w.-]+)`)) || [])[1];
  report(Boolean(unsubscribeUrl), 'digest-has-an-unsubscribe-link', `no "Unsubscribe:" link in:\n${nextText}`);
  response = await page.goto(unsubscribeUrl);
  report(response.status() === 200 && (await page.locator('h1').innerText()) === 'Unsubscribe',
    'unsubscribe-page-opens', `GET /unsubscribe answered ${response.status()}`);
  const policy = response.headers()['content-security-policy'] || '';
  report(policy.includes("default-src 'none'") && policy.includes("frame-ancestors 'none'")
    && response.headers()['referrer-policy'] === 'no-referrer', 'unsubscribe-page-headers',
  `Content-Security-Policy is ${JSON.stringify(policy)}`);
  await checkPage(page, 'unsubscribe');
  report(!subscriber(READER).unsubscribed_at, 'opening-the-unsubscribe-link-changes-nothing',
    'GET /unsubscribe unsubscribed the reader');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Unsubscribe' }).click()]);
  await page.waitForSelector('h1');
  report((await page.locator('h1').innerText()) === 'Unsubscribed', 'unsubscribe-button-unsubscribes',
    `after the button, the page says ${JSON.stringify(await page.locator('h1').innerText())}`);
  await checkPage(page, 'unsubscribed');
  const gone = subscriber(READER);
  report(gone && gone.unsubscribed_at, 'unsubscribed-on-the-list', `the list has ${JSON.stringify(gone)}`);
} catch (e) {
  report(false, 'journey', `${e.stack || e}`);
}
await browser.close();

// html-validate on every page as served.
const files = readdirSync(pagesDir).map((n) => join(pagesDir, n));
try {
  execFileSync(join(here, 'node_modules/.bin/html-validate'),
    ['-c', join(here, 'htmlvalidate-pages.cjs'), '--formatter', 'text', ...files],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  report(true, `html-validate ${files.length} pages`);
} catch (e) {
  report(false, 'html-validate pages', `fix these in templates/pages/:\n${(e.stdout || '') + (e.stderr || '')}`);
}
try {
  execFileSync(join(here, 'node_modules/.bin/html-validate'),
    ['-c', join(here, 'htmlvalidate.cjs'), '--formatter', 'text', join(mailDir, 'confirmation.html')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  report(true, 'html-validate confirmation-message (email config)');
} catch (e) {
  report(false, 'html-validate confirmation-message', `fix these in templates/confirm.html.hbs:\n${(e.stdout || '') + (e.stderr || '')}`);
}
rmSync(pagesDir, { recursive: true, force: true });
rmSync(mailDir, { recursive: true, force: true });
finish();
