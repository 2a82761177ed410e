// npm run package — a production build and the VSIX (bundled JS + fs-ext with its compiled binary).
// Prints the VSIX path on the last line.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, `${pkg.name}-${pkg.version}.vsix`);
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (!existsSync(join(root, 'node_modules', 'fs-ext', 'build', 'Release', 'fs_ext.node'))) {
  console.error('package: node_modules/fs-ext has no compiled binary; run npm ci first');
  process.exit(1);
}
run(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-update-package-json', '--no-git-tag-version', '--allow-missing-repository', '--skip-license', '-o', out]);
console.log(out);
