/**
 * npm run test:desktop — the same in-host suites under desktop VS Code via @vscode/test-electron.
 * Needs a display and internet (it downloads VS Code); not runnable on the CI machines here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-desktop-ws-'));
  fs.writeFileSync(path.join(ws, 'sample.ts'), 'export const x = 1;\n');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'test', 'extension', 'index.js'),
    launchArgs: [ws, '--disable-workspace-trust'],
    // Electron's ABI is not the one npm ci built fs-ext for: the suites must see flock via koffi.
    extensionTestsEnv: { TELEMETRY_SINK_FILE: path.join(ws, '.telemetry', 'events.jsonl'), LTS_EXPECT_LOCK_PROVIDER: 'koffi' },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
