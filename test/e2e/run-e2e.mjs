// Tier 4: two real VS Code windows (code-server 4.100.3, the packaged VSIX) driven by Playwright in
// headless Chromium. Writes {passed, failed, skipped} to argv[2]; screenshots go to test-results/.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { root, log, ensureInstalled, packageVsix, packageFixture, freshDirs, installExtensions, startCodeServer, launchChromium, stopAll, wantCi } from '../harness/lib.mjs';

const out = process.argv[2] ?? join(root, 'test-results', 'e2e.json');
// The foreign-ABI tier runs this tier in a code-server started by another Node (another ABI).
const hostNode = process.env.LTS_CODE_SERVER_NODE;
const expectProvider = process.env.LTS_EXPECT_LOCK_PROVIDER ?? 'fs-ext';
const shots = join(root, 'test-results', hostNode ? 'e2e-foreign-abi' : 'e2e');
// Lines each window types (~160 edits each). The foreign-ABI rerun types half: it is there to show
// the provider under another ABI; the heavy concurrency is this tier's and the stress tier's job.
const typedLines = hostNode ? 4 : 8;
mkdirSync(shots, { recursive: true });
const results = { passed: 0, failed: 0, skipped: 0 };
const write = () => writeFileSync(out, JSON.stringify(results, null, 2));
const SECRET = 'ZZ_SECRET_TEXT_ZZ';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    results.failed++;
    console.log(`  ✗ ${name}\n    ${String(err?.stack ?? err).split('\n').slice(0, 5).join('\n    ')}`);
    throw err;
  }
}

function readLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function waitFor(what, fn, ms = 60_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function openWindow(browser, url, name) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  await sleep(1500);
  await page.screenshot({ path: join(shots, `${name}-open.png`) });
  return page;
}

/** Opens a quick-input box (palette or Quick Open), types into it and picks the first match. */
async function quickInput(page, key, text, settleMs) {
  await page.keyboard.press(key);
  await page.waitForSelector('.quick-input-widget', { state: 'visible' });
  await page.keyboard.type(text, { delay: 10 });
  await sleep(settleMs);
  await page.keyboard.press('Enter');
}

const palette = (page, text) => quickInput(page, 'Control+Shift+P', text, 400);

async function openFile(page, name) {
  await quickInput(page, 'Control+P', name, 600);
  await page.waitForSelector('.monaco-editor.focused', { timeout: 15_000 }).catch(() => undefined);
  await sleep(500);
  await page.click('.monaco-editor .view-lines');
  await page.keyboard.press('Control+End');
}

async function main() {
  const inst = ensureInstalled();
  if (!inst.ok) {
    if (wantCi()) throw new Error(`cannot run the e2e tier on CI: ${inst.reason}`);
    log(`skipping the e2e tier: ${inst.reason}`);
    results.skipped = 1;
    return;
  }
  const dirs = freshDirs('lts-e2e-');
  installExtensions(dirs, [packageVsix(), packageFixture()]);
  for (const n of ['one', 'two']) {
    writeFileSync(join(dirs.workspace, `notes-${n}.md`), '# notes\n');
    writeFileSync(join(dirs.workspace, `code-${n}.ts`), 'export function f(items: number[]) {\n');
  }
  const eventsFile = join(dirs.base, 'data', 'events.jsonl');
  const cs = await startCodeServer(dirs, { TELEMETRY_SINK_FILE: eventsFile }, undefined, hostNode);
  const url = `${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}`;
  const browser = await launchChromium();
  let w1, w2;

  await step('two windows open; both extension hosts activate (two distinct sids)', async () => {
    [w1, w2] = await Promise.all([openWindow(browser, url, 'w1'), openWindow(browser, url, 'w2')]);
    await waitFor('two session.start events', () => new Set(readLines(eventsFile).filter((l) => l.type === 'session.start').map((l) => l.sid)).size >= 2);
  });

  await step('both windows type at once (thousands of edits), save, switch editors', async () => {
    const typeIn = async (page, n) => {
      await openFile(page, `notes-${n}.md`);
      for (let i = 0; i < typedLines; i++) await page.keyboard.type(`line ${i} ${SECRET} lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim\n`, { delay: 0 });
      await page.keyboard.press('Control+S');
      await openFile(page, `code-${n}.ts`);
    };
    await Promise.all([typeIn(w1, 'one'), typeIn(w2, 'two')]);
    await w1.screenshot({ path: join(shots, 'w1-typed.png') });
    await w2.screenshot({ path: join(shots, 'w2-typed.png') });
  });

  await step('accept inline completions from the fixture AI extension with Tab in both windows', async () => {
    const accept = async (page, n) => {
      for (let k = 0; k < 3; k++) {
        await page.keyboard.press('Control+End');
        await page.keyboard.press('Enter');
        await page.keyboard.type('  ', { delay: 20 });
        await sleep(300);
        // The trigger can be swallowed while a window is still busy after the typing step (seen in CI):
        // ask again, a bounded number of times, before calling it a failure.
        for (let attempt = 1; ; attempt++) {
          await page.keyboard.press('Alt+\\');
          try {
            await page.waitForSelector('.ghost-text-decoration, .ghost-text', { timeout: 8_000 });
            break;
          } catch (e) {
            if (attempt === 4) throw e;
            await page.keyboard.press('Escape');
          }
        }
        await page.keyboard.press('Tab');
        await sleep(500);
      }
      await page.keyboard.press('Control+S');
      await page.screenshot({ path: join(shots, `w-${n}-ai.png`) });
    };
    await Promise.all([accept(w1, 'one'), accept(w2, 'two')]);
    await waitFor('accepted completions from both windows', () => {
      const sids = new Set(readLines(eventsFile).filter((l) => l.type === 'ai.completion.accepted').map((l) => l.sid));
      return sids.size >= 2;
    }, 30_000);
  });

  await step('"Telemetry Sink: Verify Integrity" from the palette says clean', async () => {
    await palette(w1, 'Telemetry Sink: Verify Integrity');
    const msg = await waitFor('verify notification', async () => {
      const texts = await w1.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
      return texts.find((t) => t.includes('Telemetry Sink:') && !t.includes('verifying'));
    }, 30_000);
    await w1.screenshot({ path: join(shots, 'w1-verify.png') });
    if (!/clean/.test(msg)) throw new Error(`notification: ${msg}`);
  });

  await step('the file: valid lines, both sessions, complete seq runs, editor + ai events from both, no text', async () => {
    const v = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'verify', '--file', eventsFile, '--json'], { encoding: 'utf8' });
    const rep = JSON.parse(v.stdout);
    if (!rep.clean) throw new Error(`verify: ${JSON.stringify(rep.problems.slice(0, 5))}`);
    const lines = readLines(eventsFile);
    const starts = lines.filter((l) => l.type === 'session.start');
    const sids = [...new Set(starts.map((l) => l.sid))];
    if (sids.length < 2) throw new Error('fewer than two sessions');
    for (const s of starts) {
      if (s.data.lock_backend !== 'flock' || s.data.lock_provider !== expectProvider) throw new Error(`session.start: ${s.data.lock_backend} via ${s.data.lock_provider} (${s.data.lock_backend_reason}), expected flock via ${expectProvider}`);
    }
    for (const sid of sids) {
      const seqs = lines.filter((l) => l.sid === sid).map((l) => l.seq).sort((a, b) => a - b);
      seqs.forEach((s, i) => {
        if (s !== i) throw new Error(`session ${sid}: seq run broken at ${i}`);
      });
      const types = new Set(lines.filter((l) => l.sid === sid).map((l) => l.type));
      for (const t of ['editor.document.change', 'editor.document.save', 'ai.completion.shown', 'ai.completion.accepted']) if (!types.has(t)) throw new Error(`session ${sid} has no ${t}`);
    }
    const edits = lines.filter((l) => l.type === 'editor.document.change').reduce((a, l) => a + l.data.changes, 0);
    if (edits < typedLines * 125) throw new Error(`only ${edits} edits recorded`);
    if (readFileSync(eventsFile, 'utf8').includes(SECRET)) throw new Error('typed text leaked into the file');
    console.log(`    ${lines.length} lines, ${edits} edits in bursts, sessions ${sids.length}, flock via ${expectProvider} (${starts[0].data.lock_backend_reason})`);
  });

  await step('"Telemetry Sink: Show Statistics" opens the statistics page', async () => {
    await palette(w1, 'Telemetry Sink: Show Statistics');
    await w1.waitForSelector('.webview.ready, iframe.webview', { timeout: 20_000 });
    await w1.waitForFunction(() => [...document.querySelectorAll('.tab .label-name, .tab-label')].some((t) => /Telemetry Statistics/.test(t.textContent ?? '')), null, { timeout: 20_000 });
    await sleep(1500);
    await w1.screenshot({ path: join(shots, 'w1-statistics.png') });
  });

  await step('the statistics page switches range by mouse and by keyboard (command links), one screenshot per range', async () => {
    const page = w1.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    const current = () => page.locator('a[aria-current="page"]').innerText({ timeout: 20_000 });
    for (const [label, how] of [['Last 24 hours', 'click'], ['Last 30 days', 'keyboard'], ['All time', 'click'], ['Last 7 days', 'keyboard']]) {
      const link = page.getByRole('link', { name: label, exact: true });
      if (how === 'click') await link.click();
      else {
        await link.focus();
        await w1.keyboard.press('Enter');
      }
      await waitFor(`range "${label}" shown`, async () => (await current().catch(() => '')) === label, 20_000);
      await page.getByText('AI completions by model').first().waitFor({ timeout: 20_000 });
      await w1.screenshot({ path: join(shots, `w1-statistics-${label.toLowerCase().replace(/\s+/g, '-')}.png`) });
    }
  });

  await step('closing one window writes its session.end; the other keeps capturing', async () => {
    const before = readLines(eventsFile);
    const ends = () => readLines(eventsFile).filter((l) => l.type === 'session.end').length;
    const n0 = ends();
    await w2.close({ runBeforeUnload: true });
    await waitFor('session.end of the closed window', () => ends() > n0, 60_000);
    await openFile(w1, 'notes-one.md');
    await w1.keyboard.type('more text after the other window closed\n');
    await w1.keyboard.press('Control+S');
    await waitFor('new events from the remaining window', () => readLines(eventsFile).length > before.length + 2, 20_000);
    await w1.screenshot({ path: join(shots, 'w1-after-close.png') });
  });
  await browser.close();
}

main()
  .catch((err) => {
    if (!results.failed) {
      results.failed = 1;
      console.error(`e2e tier failed: ${err.stack ?? err}`);
    }
  })
  .finally(() => {
    write();
    stopAll();
    console.log(`e2e: ${results.passed} passed, ${results.failed} failed`);
    process.exitCode = results.failed ? 1 : 0;
  });
