import * as vscode from 'vscode';
import * as path from 'node:path';
import type { CommandDeps } from './deps';
import { repair, RepairResult } from '../core/integrity/repair';
import { listRotated } from '../core/sink/rotation';

/** Telemetry Sink: Repair — modal confirmation, then says what moved where. `confirm: false` is for tests. */
export async function repairCommand(d: CommandDeps, opts: { confirm?: boolean } = {}): Promise<RepairResult[] | undefined> {
  const file = d.rt.file;
  if (opts.confirm !== false) {
    const ok = await vscode.window.showWarningMessage(
      'Repair the events file?',
      {
        modal: true,
        detail: `Damaged lines of ${file} (and its rotated files) move to a quarantine file next to it, with their line numbers and raw bytes. Valid lines stay. Nothing is deleted.`,
      },
      'Repair',
    );
    if (ok !== 'Repair') return undefined;
  }
  d.flushCollectors();
  await d.rt.sink?.flush();
  const results: RepairResult[] = [];
  try {
    for (const f of [...listRotated(file).map((r) => r.path), file]) results.push(await repair({ file: f, lockTimeoutMs: Math.max(5000, d.rt.settings.lock.timeoutMs) }));
  } catch (err) {
    d.rt.log.error(`repair failed: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(`Telemetry Sink: ${(err as Error).message}`);
    return undefined;
  }
  const moved = results.filter((r) => !r.clean);
  if (!moved.length) {
    void vscode.window.showInformationMessage('Telemetry Sink: nothing to repair — every line is valid. No file was touched.');
  } else {
    const lines = moved.reduce((a, r) => a + r.linesMoved, 0);
    const where = moved.map((r) => path.basename(r.quarantine!)).join(', ');
    d.rt.log.info(`repair moved ${lines} line(s) to ${where}`);
    void vscode.window.showInformationMessage(`Telemetry Sink: moved ${lines} damaged line(s) to ${where}.`, 'Open Quarantine').then((p) => {
      if (p) void vscode.window.showTextDocument(vscode.Uri.file(moved[0]!.quarantine!));
    });
  }
  return results;
}
