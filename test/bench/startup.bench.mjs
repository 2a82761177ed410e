// npm run bench:startup — activation of Local Telemetry Sink as VS Code measures it (module load +
// activate(), from the extension host's own marks; see test/helpers/activationMarks.ts) against an
// empty extension that only registers one command (test/fixtures/empty-extension), both installed
// from their VSIX (ours minified, as users get it) in the same code-server. Every window is a new
// extension-host process, so each run is a cold start of the host (the OS file cache stays warm, as
// for any window after the first). Prints median / p90 of each and the ratio of the medians.
// Usage: node test/bench/startup.bench.mjs [runs, default 7]
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, log, ensureInstalled, packageVsix, packageFixture, freshDirs, installExtensions, startCodeServer, launchChromium, stopAll } from '../harness/lib.mjs';
import marksLib from '../../out/test/helpers/activationMarks.js';

const { medianP90 } = marksLib;
const runs = Math.max(5, Number(process.argv[2] ?? 7));

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
  const got = [];
  for (let i = 0; i < runs; i++) {
    rmSync(probe, { force: true });
    const page = await browser.newPage();
    await page.goto(`${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${payload}`);
    const t0 = Date.now();
    while (!existsSync(probe)) {
      if (Date.now() - t0 > 120_000) throw new Error(`window ${i}: no activation times; server log tail:\n${cs.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = JSON.parse(readFileSync(probe, 'utf8'));
    if (!r.ext || !r.baseline) throw new Error(`window ${i}: an extension did not activate: ${JSON.stringify(r)}`);
    log(`window ${i + 1}/${runs} (host pid ${r.pid}): extension ${r.ext.totalMs} ms (load ${r.ext.loadMs} + activate ${r.ext.activateMs}), baseline ${r.baseline.totalMs} ms (load ${r.baseline.loadMs} + activate ${r.baseline.activateMs}); bundles loaded by activation: [${(r.bundlesAtActivation ?? []).join(', ')}]`);
    got.push(r);
    await page.close();
  }
  await browser.close();
  const fig = (k, part) => medianP90(got.map((r) => r[k][part]));
  const ext = fig('ext', 'totalMs');
  const base = fig('baseline', 'totalMs');
  const res = {
    runs,
    extension: { ...ext, load: fig('ext', 'loadMs'), activate: fig('ext', 'activateMs') },
    baseline: { ...base, load: fig('baseline', 'loadMs'), activate: fig('baseline', 'activateMs') },
    ratioOfMedians: +(ext.median / Math.max(1, base.median)).toFixed(2),
    samples: got.map((r) => ({ ext: r.ext, baseline: r.baseline })),
  };
  console.log(`activation (module load + activate, as "Show Running Extensions" counts it), ${runs} cold extension-host starts:`);
  console.log(`  Local Telemetry Sink  median ${ext.median} ms  p90 ${ext.p90} ms  (load median ${res.extension.load.median}, activate median ${res.extension.activate.median})`);
  console.log(`  empty extension       median ${base.median} ms  p90 ${base.p90} ms  (load median ${res.baseline.load.median}, activate median ${res.baseline.activate.median})`);
  console.log(`  ratio of medians      ${res.ratioOfMedians}× (baseline counted as ≥ 1 ms)`);
  mkdirSync(join(root, 'test-results'), { recursive: true });
  writeFileSync(join(root, 'test-results', 'startup-bench.json'), JSON.stringify(res, null, 2));
}

main()
  .catch((err) => {
    console.error(`bench:startup failed: ${err.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
