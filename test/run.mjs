// `npm test`: builds once, then runs every tier in order and prints each tier's time.
//   node test/run.mjs [unit] [stress] [ship] [extension] [e2e] [foreign-abi]   (default: all)
// The last line is "N passed, N failed" over all tiers; the exit status is non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['unit', 'stress', 'ship', 'extension', 'e2e', 'foreign-abi'];
const wanted = process.argv.slice(2).filter((a) => all.includes(a));
const tiers = wanted.length ? wanted : all;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

const t0 = Date.now();
// Tiers packaging the same VSIX in this run reuse it (test/harness/lib.mjs packageVsix).
process.env.LTS_VSIX_FRESH_SINCE = String(t0);
// A fresh clone: install first (npm ci from the lock file), so `npm test` is the whole story.
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('== npm ci (first run)');
  if (sh(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', '--no-audit', '--no-fund']) !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
console.log('== build (esbuild bundles + tsc for tests)');
if (sh(process.execPath, ['esbuild.config.mjs']) !== 0 || sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']) !== 0) {
  console.log('build failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`   build ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log('== lint (eslint: src/core never imports vscode or the shell)');
if (sh(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']) !== 0) {
  console.log('lint failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const times = [];
mkdirSync(join(root, 'test-results'), { recursive: true });

function nodeTests(tier, dir, extra = [], env = {}) {
  const d = join(root, 'out/test', dir);
  const files = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(d, f)) : [];
  if (!files.length) {
    console.log(`   no ${tier} tests found`);
    failed++;
    return;
  }
  const tap = join(root, 'test-results', `${tier}.tap`);
  const code = sh(process.execPath, ['--test', ...extra, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files], { env: { ...process.env, ...env } });
  const text = readFileSync(tap, 'utf8');
  const num = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  passed += num('pass');
  failed += num('fail') + num('cancelled');
  skipped += num('skipped');
  if (code !== 0 && num('fail') + num('cancelled') === 0) failed++;
}

function scriptTier(tier, script, env = {}) {
  const out = join(root, 'test-results', `${tier}.json`);
  const code = sh(process.execPath, [join(root, script), out], { env: { ...process.env, ...env } });
  let r = { passed: 0, failed: code === 0 ? 0 : 1, skipped: 0 };
  if (existsSync(out)) {
    try {
      r = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      /* keep the exit-code verdict */
    }
  }
  if (code !== 0 && r.failed === 0) r.failed = 1;
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
}

/**
 * Tier 5: the runtime desktop VS Code gives extensions has another Node ABI than the Node that built
 * fs-ext. A Node 22 from the npm registry stands in for it: the CLI and writers under it, then the
 * in-host suite and the two-window tier in a code-server started by it. Every check expects flock
 * via koffi.
 */
async function foreignAbi() {
  const { ensureForeignNode } = await import('./harness/foreign-node.mjs');
  const fn = ensureForeignNode();
  if (!fn.ok) {
    console.log(`   ${process.env.CI ? 'cannot run' : 'skipping'} the foreign-ABI tier: ${fn.reason}`);
    if (process.env.CI === 'true' || process.env.CI === '1') failed++;
    else skipped++;
    return;
  }
  console.log(`   foreign Node: ${fn.node} (modules ${fn.modules}; this Node: ${process.versions.modules})`);
  const env = { LTS_FOREIGN_NODE: fn.node, LTS_CODE_SERVER_NODE: fn.node, LTS_EXPECT_LOCK_PROVIDER: 'koffi' };
  nodeTests('foreign-abi', 'foreign', ['--test-concurrency=1'], env);
  scriptTier('foreign-abi-extension', 'test/harness/run-inhost.mjs', env);
  scriptTier('foreign-abi-e2e', 'test/e2e/run-e2e.mjs', env);
}

for (const tier of tiers) {
  const s = Date.now();
  console.log(`\n== tier: ${tier}`);
  if (tier === 'unit') nodeTests('unit', 'unit');
  if (tier === 'stress') nodeTests('stress', 'stress', ['--test-concurrency=1']);
  // ClickHouse shipping against a real server (installed with apt as root by the tests' helper).
  if (tier === 'ship') nodeTests('ship', 'ship', ['--test-concurrency=1']);
  if (tier === 'extension') scriptTier('extension', 'test/harness/run-inhost.mjs');
  if (tier === 'e2e') scriptTier('e2e', 'test/e2e/run-e2e.mjs');
  if (tier === 'foreign-abi') await foreignAbi();
  times.push(`${tier} ${((Date.now() - s) / 1000).toFixed(1)} s`);
}
console.log(`\n== tier times: ${times.join(' · ')} · total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
