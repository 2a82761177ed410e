// npm run package [-- --target <vsce target> | --host | --all]
// A production build and the VSIX: the bundled JS plus both flock providers under node_modules.
//  - no option: the universal VSIX (koffi's binaries for every platform it ships, ~18).
//  - --target linux-x64 (or darwin-arm64, win32-x64, alpine-x64, …): a per-platform VSIX with only
//    that platform's koffi binary (`vsce package --target`, so VS Code installs it only there).
//  - --host: the per-platform VSIX of this machine. --all: the universal one and every target.
// fs-ext's binary was compiled by `npm ci` for this machine's platform and Node ABI; it goes into the
// universal VSIX and into the VSIX of this machine's platform only (elsewhere it could never load).
// Prints each VSIX with its size; the path of the last one built is the last line of stdout.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, existsSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** vsce target → koffi's folder under node_modules/koffi/build/koffi. */
export const KOFFI_DIRS = {
  'linux-x64': 'linux_x64',
  'linux-arm64': 'linux_arm64',
  'linux-armhf': 'linux_armhf',
  'alpine-x64': 'musl_x64',
  'alpine-arm64': 'musl_arm64',
  'darwin-x64': 'darwin_x64',
  'darwin-arm64': 'darwin_arm64',
  'win32-x64': 'win32_x64',
  'win32-arm64': 'win32_arm64',
};

/** The vsce target of this machine (musl Linux is `alpine-*`, as VS Code names it). */
export function hostTarget() {
  const musl = process.platform === 'linux' && !process.report?.getReport()?.header?.glibcVersionRuntime;
  const plat = process.platform === 'linux' && musl ? 'alpine' : process.platform;
  return `${plat}-${process.arch === 'arm' ? 'armhf' : process.arch}`;
}

const KOFFI_ALL = '!node_modules/koffi/build/koffi/*/koffi.node';
const FS_EXT_BINARY = '!node_modules/fs-ext/build/Release/fs_ext.node';

/** The .vscodeignore of one target: only its koffi binary; fs-ext's only where it was built. */
function ignoreFor(target) {
  const lines = readFileSync(join(root, '.vscodeignore'), 'utf8').split('\n');
  if (!lines.includes(KOFFI_ALL) || !lines.includes(FS_EXT_BINARY)) throw new Error(`.vscodeignore must list ${KOFFI_ALL} and ${FS_EXT_BINARY}`);
  return lines
    .filter((l) => target === hostTarget() || !l.startsWith('!node_modules/fs-ext/'))
    .map((l) => (l === KOFFI_ALL ? `!node_modules/koffi/build/koffi/${KOFFI_DIRS[target]}/koffi.node` : l))
    .join('\n');
}

/** Names of the entries of a zip file (from its central directory; VSIX files are zips). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const names = [];
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = buf.readUInt16LE(eocd + 10); i > 0; i--) {
    const n = buf.readUInt16LE(p + 28);
    names.push(buf.toString('utf8', p + 46, p + 46 + n));
    p += 46 + n + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return names;
}

/** Refuses a VSIX whose native binaries are not exactly what its target needs. */
function checkBinaries(out, target) {
  const names = zipEntries(out);
  const koffi = names.filter((n) => n.endsWith('/koffi.node')).map((n) => n.split('/').at(-2)).sort();
  const want = target ? [KOFFI_DIRS[target]] : readdirSync(join(root, 'node_modules', 'koffi', 'build', 'koffi')).sort();
  const fsExt = names.includes('extension/node_modules/fs-ext/build/Release/fs_ext.node');
  const wantFsExt = !target || target === hostTarget();
  if (JSON.stringify(koffi) !== JSON.stringify(want) || fsExt !== wantFsExt || !names.includes('extension/node_modules/koffi/index.js')) {
    throw new Error(`${out}: koffi binaries [${koffi}] (want [${want}]), fs-ext binary ${fsExt} (want ${wantFsExt})`);
  }
  return `koffi ${koffi.length === 1 ? koffi[0] : `× ${koffi.length}`}${fsExt ? ' + fs-ext' : ''}`;
}

/** Where the VSIX of `target` (undefined: universal) is written. */
export function vsixPath(target) {
  return join(root, `${pkg.name}-${pkg.version}${target ? `-${target}` : ''}.vsix`);
}

function vsce(target) {
  const out = vsixPath(target);
  const args = ['package', '--no-update-package-json', '--no-git-tag-version', '--allow-missing-repository', '--skip-license', '-o', out];
  let tmp;
  if (target) {
    tmp = mkdtempSync(join(tmpdir(), 'lts-vsce-'));
    writeFileSync(join(tmp, 'vscodeignore'), ignoreFor(target));
    args.push('--target', target, '--ignoreFile', join(tmp, 'vscodeignore'));
  }
  const r = spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const what = checkBinaries(out, target);
  console.error(`package: ${target ?? 'universal'} VSIX ${(statSync(out).size / 1048576).toFixed(2)} MB (${what})  ${out}`);
  return out;
}

function main() {
  if (!existsSync(join(root, 'node_modules', 'fs-ext', 'build', 'Release', 'fs_ext.node')) || !existsSync(join(root, 'node_modules', 'koffi', 'index.js'))) {
    console.error('package: node_modules has no compiled fs-ext or no koffi; run npm ci first');
    process.exit(1);
  }
  const argv = process.argv.slice(2);
  const t = argv.indexOf('--target');
  let targets = [undefined];
  if (t >= 0) targets = [argv[t + 1]];
  else if (argv.includes('--host')) targets = [hostTarget()];
  else if (argv.includes('--all')) targets = [undefined, ...Object.keys(KOFFI_DIRS)];
  for (const target of targets) {
    if (target !== undefined && !KOFFI_DIRS[target]) {
      console.error(`package: unknown target ${target} (one of ${Object.keys(KOFFI_DIRS).join(', ')})`);
      process.exit(2);
    }
  }
  // vsce runs the production build (vscode:prepublish) for each VSIX.
  let last;
  for (const target of targets) last = vsce(target);
  console.log(last);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
