// Shared by the in-host runner, the two-window e2e and `npm start`: install, package, start
// code-server on 127.0.0.1 with fresh folders, open Chromium, and stop everything started, by pid.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { hostTarget, vsixPath } from './package.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cache = join(root, '.cache', 'harness');
const started = [];
/** Temp folders made by freshDirs, removed by stopAll once what ran in them is stopped. */
const tempDirs = [];

export function log(msg) {
  process.stderr.write(`[harness] ${msg}\n`);
}

/** Installs code-server, playwright-core and Debian packages once. Returns { ok, reason }. */
export function ensureInstalled() {
  const r = spawnSync('bash', [join(root, 'test/harness/install.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status === 3) return { ok: false, reason: 'Chromium/ripgrep/build headers missing and not root to apt-get them' };
  if (r.status !== 0) return { ok: false, reason: `install.sh failed (${r.status})` };
  return { ok: true };
}

/**
 * Packages the VSIX: 'host' (this machine's per-platform VSIX, what a user here installs) or the
 * universal one. Within one `npm test` run (test/run.mjs sets LTS_VSIX_FRESH_SINCE to its start), a
 * VSIX already packaged by an earlier tier is reused.
 */
export function packageVsix(which = 'host') {
  const out = vsixPath(which === 'host' ? hostTarget() : undefined);
  const since = Number(process.env.LTS_VSIX_FRESH_SINCE);
  if (since && existsSync(out) && statSync(out).mtimeMs >= since) return out;
  const r = spawnSync(process.execPath, [join(root, 'test/harness/package.mjs'), ...(which === 'host' ? ['--host'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run package failed');
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1];
}

export function packageFixture() {
  const dir = join(root, 'test/fixtures/ai-extension');
  const out = join(cache, 'ai-fixture.vsix');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--allow-missing-repository', '--skip-license', '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('packaging the AI fixture failed');
  return out;
}

const codeServerBin = () => join(cache, 'node_modules', '.bin', 'code-server');

export function freshDirs(prefix) {
  const base = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(base);
  const dirs = { base, userData: join(base, 'user-data'), extensions: join(base, 'extensions'), workspace: join(base, 'workspace') };
  for (const d of [dirs.userData, dirs.extensions, dirs.workspace]) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'telemetry.telemetryLevel': 'off', 'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'workbench.tips.enabled': false, 'editor.inlineSuggest.enabled': true }, null, 2));
  return dirs;
}

export function installExtensions(dirs, vsixes) {
  for (const v of vsixes) {
    const r = spawnSync(codeServerBin(), ['--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData, '--install-extension', v, '--force'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`installing ${v} failed: ${r.stderr || r.stdout}`);
  }
  return readdirSync(dirs.extensions).filter((d) => !d.startsWith('.') && d !== 'extensions.json');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/**
 * Starts code-server on 127.0.0.1 (no auth: loopback only). Resolves when it answers. With `node`,
 * code-server runs under that Node binary instead of the one on PATH, and so does its extension
 * host (it forks process.execPath): the foreign-ABI tier's way of giving the host another ABI.
 */
export async function startCodeServer(dirs, env = {}, port, node) {
  port ??= await freePort();
  const args = ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, dirs.workspace];
  const [cmd, argv] = node ? [node, [join(cache, 'node_modules', 'code-server', 'out', 'node', 'entry.js'), ...args]] : [codeServerBin(), args];
  const proc = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(proc);
  let logText = '';
  proc.stdout.on('data', (d) => (logText += d));
  proc.stderr.on('data', (d) => (logText += d));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`code-server exited: ${logText.slice(-2000)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() - t0 > 60_000) throw new Error(`code-server did not start: ${logText.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, port, proc, log: () => logText };
}

export async function launchChromium() {
  const require = createRequire(join(cache, 'package.json'));
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  started.push({ kill: () => browser.close().catch(() => undefined), pid: undefined });
  return browser;
}

export function stopAll() {
  for (const p of started.splice(0).reverse()) {
    try {
      if (p.pid) process.kill(-p.pid, 'SIGTERM');
      else p.kill();
    } catch {
      /* already gone */
    }
  }
  // Retried: a process just sent SIGTERM may still write a log line while it exits.
  for (const d of tempDirs.splice(0)) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (err) {
      log(`could not remove ${d}: ${err.message}`);
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => {
  stopAll();
  process.exit(130);
});
process.on('exit', stopAll);

export function wantCi() {
  return process.env.CI === 'true' || process.env.CI === '1';
}

export { existsSync };
