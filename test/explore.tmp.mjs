import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { root, ensureInstalled, packageVsix, freshDirs, installExtensions, startCodeServer, launchChromium, stopAll, cache } from '/work/wt/startup/test/harness/lib.mjs';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
ensureInstalled();
const vsix = packageVsix('host');
const fx = join(cache, 'empty-fixture.vsix');
spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--allow-missing-repository', '--skip-license', '-o', fx], { cwd: join(root, 'test/fixtures/empty-extension'), stdio: 'inherit' });
const dirs = freshDirs('lts-explore-');
console.log(installExtensions(dirs, [vsix, fx]));
import { mkdirSync } from 'node:fs';
mkdirSync(join(dirs.base, 'builtin'), { recursive: true });
const cs = await startCodeServer(dirs, { TELEMETRY_SINK_FILE: join(dirs.base, 'data', 'events.jsonl') }, undefined, undefined, ['--builtin-extensions-dir', join(dirs.base, 'builtin')]);
const browser = await launchChromium();
for (let i = 0; i < 3; i++) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const t0 = Date.now();
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
  await sleep(3000);
  await page.keyboard.press('Control+Shift+P');
  await page.waitForSelector('.quick-input-widget', { state: 'visible' });
  await page.keyboard.type('Show Running Extensions', { delay: 10 });
  await sleep(600);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.runtime-extensions-editor .extension', { timeout: 30000 });
  for (let k = 0; k < 60; k++) { const t = await page.$$eval('.runtime-extensions-editor .extension', (els) => els.map((e) => e.innerText)); if (t.filter((x) => /(Local Telemetry Sink|Empty extension).*Activation: \d+ms/s.test(x)).length === 2) break; await sleep(500); }
  const rows = await page.$$eval('.runtime-extensions-editor .extension', (els) => els.map((e) => e.innerText.replace(/\n+/g, ' | ')));
  console.log(`window ${i} (${Date.now() - t0} ms) ` + rows.join(' ;; '));
  await page.screenshot({ path: `/tmp/explore-${i}.png` });
  await page.close();
}
await browser.close();
stopAll();
