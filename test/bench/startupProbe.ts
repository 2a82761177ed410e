/**
 * extensionTestsPath of `npm run bench:startup` (test/bench/startup.bench.mjs): runs inside each
 * freshly started extension host, waits until Local Telemetry Sink and the empty baseline extension
 * have activated, and writes VS Code's activation times of both to <workspace>/.startup-probe.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BASELINE_ID, waitForActivationTimes } from '../helpers/activationMarks';

const EXT_ID = 'local-telemetry-sink.local-telemetry-sink';

export async function run(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vscode = require('vscode') as typeof import('vscode');
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const [ext, baseline] = await waitForActivationTimes([EXT_ID, BASELINE_ID], 60_000);
  const hooks = (vscode.extensions.getExtension(EXT_ID)?.exports as { _test?: { bundlesAtActivation?: string[] } } | undefined)?._test;
  const out = { pid: process.pid, ext, baseline, bundlesAtActivation: hooks?.bundlesAtActivation };
  const file = path.join(ws, '.startup-probe.json');
  fs.writeFileSync(file + '.tmp', JSON.stringify(out));
  fs.renameSync(file + '.tmp', file);
}
