// npm run bench:startup — activation of Local Telemetry Sink as VS Code measures it, against an empty
// extension that only registers one command (test/fixtures/empty-extension), both installed from
// their VSIX (ours minified, as users get it) in the same code-server. The figure is the one
// "Developer: Show Running Extensions" shows (VS Code's codeLoadingTime + activateCallTime), read from
// that view; a probe inside the host adds the module-load part from VS Code's own marks
// (test/helpers/activationMarks.ts). Every window is a new extension-host process, so each run is a
// cold start of the host (the OS file cache stays warm, as for any window after the first).
// Prints median / p90 of each and the ratio of the medians.
// Usage: node test/bench/startup.bench.mjs [runs, default 7, at least 5]
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, log, ensureInstalled, packageVsix, packageFixture, freshDirs, installExtensions, startCodeServer, launchChromium, stopAll } from '../harness/lib.mjs';
import marksLib from '../../out/test/helpers/activationMarks.js';

const { medianP90 } = marksLib;
const runs = Math.max(5, Number(process.argv[2] ?? 7));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const NAMES = { ext: 'Local Telemetry Sink', baseline: 'Empty extension (startup baseline, tests only)' };

/** Opens "Show Running Extensions" and returns VS Code's activation figure of both extensions. */
async function runningExtensions(page) {
  await page.keyboard.press('Control+Shift+P');
  await page.waitForSelector('.quick-input-widget', { state: 'visible' });
  await page.keyboard.type('Show Running Extensions', { delay: 10 });
  await sleep(500);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.runtime-extensions-editor .extension', { timeout: 30_000 });
  for (let k = 0; k < 60; k++) {
    const rows = await page.$$eval('.runtime-extensions-editor .extension', (els) => els.map((e) => e.innerText));
    const fig = (name) => {
      const row = rows.find((t) => t.split('\n')[0].trim().startsWith(name));
      const m = row && /Activation:\s*(\d+)\s*ms/.exec(row);
      return m ? Number(m[1]) : undefined;
    };
    const got = { ext: fig(NAMES.ext), baseline: fig(NAMES.baseline) };
    if (got.ext !== undefined && got.baseline !== undefined) return got;
    await sleep(500);
  }
  throw new Error('Show Running Extensions did not show both activation times');
}

async function main() {
  const inst = ensureInstalled();
  if (!inst.ok) throw new Error(`cannot run code-server here: ${inst.reason}`);
  const dirs = freshDirs('lts-startup-');
  const installed = installExtensions(dirs, [packageVsix('host'), packageFixture('empty-extension')]);
  const mine = installed.find((d) => d.startsWith('local-telemetry-sink.local-telemetry-sink-'));
  if (!mine) throw new Error(`VSIX did not install: ${installed.join(', ')}`);
  const cs = await startCodeServer(dirs, { TELEMETRY_SINK_FILE: join(dirs.base, 'data', 'events.jsonl') });
  const payload = encodeURIComponent(JSON.stringify([
    ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${cs.port}${join(dirs.extensions, mine)}`],
    ['extensionTestsPath', `vscode-remote://127.0.0.1:${cs.port}${join(root, 'out/test/bench/startupProbe.js')}`],
  ]));
  const browser = await launchChromium();
  const probe = join(dirs.workspace, '.startup-probe.json');
  const done = join(dirs.workspace, '.startup-probe.done');
  const got = [];
  for (let i = 0; i < runs; i++) {
    rmSync(probe, { force: true });
    rmSync(done, { force: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${payload}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    const t0 = Date.now();
    while (!existsSync(probe)) {
      if (Date.now() - t0 > 120_000) throw new Error(`window ${i}: no activation; server log tail:\n${cs.log().slice(-2000)}`);
      await sleep(200);
    }
    const p = JSON.parse(readFileSync(probe, 'utf8'));
    const ui = await runningExtensions(page);
    writeFileSync(done, '');
    const r = { ...ui, ...p };
    log(`window ${i + 1}/${runs} (host pid ${r.pid}): extension ${r.ext} ms (module load ${r.extLoadMs}; activate() body ${r.activateBodyMs?.toFixed(1)}), baseline ${r.baseline} ms (module load ${r.baselineLoadMs}); bundles loaded by activate(): [${(r.bundlesAtActivation ?? []).join(', ')}]`);
    got.push(r);
    await page.close();
    await sleep(1000);
  }
  await browser.close();
  const fig = (k) => medianP90(got.map((r) => r[k]));
  const res = { runs, extension: fig('ext'), baseline: fig('baseline'), extensionModuleLoad: fig('extLoadMs'), baselineModuleLoad: fig('baselineLoadMs'), extensionActivateBody: fig('activateBodyMs'), samples: got };
  res.ratioOfMedians = +(res.extension.median / Math.max(1, res.baseline.median)).toFixed(2);
  const row = (label, f) => `  ${label.padEnd(34)} median ${String(f.median).padStart(5)} ms   p90 ${String(f.p90).padStart(5)} ms`;
  console.log(`activation as "Show Running Extensions" reports it (module load + activate call), ${runs} cold extension-host starts:`);
  console.log(row('Local Telemetry Sink', res.extension));
  console.log(row('empty extension (baseline)', res.baseline));
  console.log(`  ratio of medians                   ${res.ratioOfMedians}× (baseline counted as ≥ 1 ms)`);
  console.log(row('  of which module load (ours)', res.extensionModuleLoad));
  console.log(row('  module load (baseline)', res.baselineModuleLoad));
  console.log(`  activate() body (ours, own timer)  median ${res.extensionActivateBody.median.toFixed(1)} ms`);
  mkdirSync(join(root, 'test-results'), { recursive: true });
  writeFileSync(join(root, 'test-results', 'startup-bench.json'), JSON.stringify(res, null, 2));
}

main()
  .catch((err) => {
    console.error(`bench:startup failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
