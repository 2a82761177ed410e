// Tier 3: the mocha suites of test/extension run inside code-server's real extension host, against
// the extension as installed from the packaged VSIX. Writes {passed, failed, skipped} to argv[2].
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, log, ensureInstalled, packageVsix, packageFixture, freshDirs, installExtensions, startCodeServer, launchChromium, stopAll, wantCi } from './lib.mjs';

const out = process.argv[2] ?? join(root, 'test-results', 'extension.json');
// The foreign-ABI tier runs this same suite in a code-server started by another Node (another ABI).
const hostNode = process.env.LTS_CODE_SERVER_NODE;
const expectProvider = process.env.LTS_EXPECT_LOCK_PROVIDER ?? 'fs-ext';
const label = hostNode ? 'inhost-foreign-abi' : 'inhost';
const write = (r) => writeFileSync(out, JSON.stringify(r, null, 2));

async function main() {
  const inst = ensureInstalled();
  if (!inst.ok) {
    if (wantCi()) throw new Error(`cannot run the extension tier on CI: ${inst.reason}`);
    log(`skipping the extension tier: ${inst.reason}`);
    write({ passed: 0, failed: 0, skipped: 1 });
    return;
  }
  // Under a foreign ABI the universal VSIX: koffi must pick this platform's binary among all of them.
  const vsix = packageVsix(hostNode ? 'universal' : 'host');
  // The empty extension is the startup baseline 01-activation compares activation with, in the same host.
  const fixtures = [packageFixture('ai-extension'), packageFixture('empty-extension')];
  const dirs = freshDirs('lts-inhost-');
  const installed = installExtensions(dirs, [vsix, ...fixtures]);
  const mine = installed.find((d) => d.startsWith('local-telemetry-sink.local-telemetry-sink-'));
  if (!mine) throw new Error(`VSIX did not install: ${installed.join(', ')}`);
  const eventsFile = join(dirs.base, 'data', 'events.jsonl');
  const cs = await startCodeServer(dirs, { TELEMETRY_SINK_FILE: eventsFile, LTS_EXPECT_LOCK_PROVIDER: expectProvider }, undefined, hostNode);
  log(`code-server ${cs.url} (extension from ${mine}${hostNode ? `; started by ${hostNode}` : ''}; expecting flock via ${expectProvider})`);
  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${cs.port}${join(dirs.extensions, mine)}`],
    ['extensionTestsPath', `vscode-remote://127.0.0.1:${cs.port}${join(root, 'out/test/extension/index.js')}`],
  ];
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const resultsFile = join(dirs.workspace, '.inhost-results.json');
  const t0 = Date.now();
  while (!existsSync(resultsFile)) {
    if (Date.now() - t0 > 8 * 60_000) throw new Error(`in-host tests did not finish; server log tail:\n${cs.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 300));
  const res = JSON.parse(readFileSync(resultsFile, 'utf8'));
  mkdirSync(join(root, 'test-results'), { recursive: true });
  writeFileSync(join(root, 'test-results', `${label}-measurements.json`), JSON.stringify({ vscodeVersion: res.vscodeVersion, ...res.measurements }, null, 2));
  console.log(`${label} (VS Code ${res.vscodeVersion}, modules ${res.measurements.modules}): ${res.passed} passed, ${res.failed} failed, ${res.skipped} skipped`);
  for (const f of res.failures) console.log(`  ✗ ${f.title}\n    ${f.error.split('\n').slice(0, 6).join('\n    ')}`);
  console.log(`  measurements: ${JSON.stringify(res.measurements)}`);
  write({ passed: res.passed, failed: res.failed, skipped: res.skipped });
  await browser.close();
}

main()
  .catch((err) => {
    console.error(`extension tier failed: ${err.stack ?? err}`);
    write({ passed: 0, failed: 1, skipped: 0 });
    process.exitCode = 1;
  })
  .finally(stopAll);
