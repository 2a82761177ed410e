// npm start — the product's quick start on a fresh clone: install, build, package (this machine's
// per-platform VSIX), then open VS Code with the extension installed: desktop `code` when it is on
// PATH, otherwise the bundled code-server on 127.0.0.1 (no auth: it listens on loopback only).
// Ctrl+C stops what it started.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { root, log, ensureInstalled, packageVsix, installExtensions, startCodeServer, stopAll } from './lib.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  log('npm ci');
  if (spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1);
}
const vsix = packageVsix();
const hasCode = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['code'], { stdio: 'ignore' }).status === 0;
if (hasCode) {
  log(`installing ${vsix} into desktop VS Code`);
  spawnSync('code', ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
  spawnSync('code', [root], { stdio: 'inherit' });
  log("VS Code is open with Local Telemetry Sink installed. Desktop VS Code runs extensions in Electron, where fs-ext's binary does not load: the extension locks with flock through koffi (its log and session.start say so; see README).");
  process.exit(0);
}
const inst = ensureInstalled();
if (!inst.ok) {
  log(`cannot start code-server: ${inst.reason}`);
  process.exit(1);
}
const base = join(homedir(), '.local', 'share', 'telemetry-sink', 'code-server');
const dirs = { base, userData: join(base, 'user-data'), extensions: join(base, 'extensions'), workspace: process.argv[2] ?? root };
for (const d of [dirs.userData, dirs.extensions]) mkdirSync(d, { recursive: true });
installExtensions(dirs, [vsix]);
const port = Number(process.env.PORT ?? 8080);
const cs = await startCodeServer(dirs, {}, port);
console.log(`\nLocal Telemetry Sink is running in VS Code (code-server ${'4.100.3'}):\n\n  ${cs.url}/?folder=${encodeURIComponent(dirs.workspace)}\n`);
console.log('No password: code-server listens on 127.0.0.1 only. Events go to $TELEMETRY_SINK_FILE or ~/.local/share/telemetry-sink/events.jsonl.');
console.log('Ctrl+C stops it.');
await new Promise((resolve) => cs.proc.on('exit', resolve));
stopAll();
