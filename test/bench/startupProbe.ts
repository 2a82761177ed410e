/**
 * extensionTestsPath of `npm run bench:startup` (test/bench/startup.bench.mjs): runs inside each
 * freshly started extension host, waits until Local Telemetry Sink and the empty baseline extension
 * have activated, writes <workspace>/.startup-probe.json (VS Code's module-load marks of both, our
 * own timing of activate()'s body, the bundles activate() loaded), then keeps the host alive until
 * the bench has read "Show Running Extensions" (it creates <workspace>/.startup-probe.done).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASELINE_ID, waitForCodeLoadMs } from '../helpers/activationMarks';

const EXT_ID = 'local-telemetry-sink.local-telemetry-sink';

export async function run(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vscode = require('vscode') as typeof import('vscode');
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const [extLoadMs, baselineLoadMs] = await waitForCodeLoadMs([EXT_ID, BASELINE_ID], 60_000);
  const hooks = (vscode.extensions.getExtension(EXT_ID)?.exports as { _test?: { activationMs?: number; bundlesAtActivation?: string[] } } | undefined)?._test;
  const out = { pid: process.pid, extLoadMs, baselineLoadMs, activateBodyMs: hooks?.activationMs, bundlesAtActivation: hooks?.bundlesAtActivation };
  const file = path.join(ws, '.startup-probe.json');
  fs.writeFileSync(file + '.tmp', JSON.stringify(out));
  fs.renameSync(file + '.tmp', file);
  const t0 = Date.now();
  while (!fs.existsSync(file.replace(/json$/, 'done')) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
}
