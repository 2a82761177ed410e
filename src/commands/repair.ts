import * as vscode from 'vscode';
import * as path from 'node:path';
import type { CommandDeps } from './deps';
import { repair, RepairResult } from '../core/integrity/repair';
import { listRotated } from '../core/sink/rotation';

/** The modal confirmation Repair always shows first. */
export async function askToRepair(file: string): Promise<boolean> {
  const ok = await vscode.window.showWarningMessage(
    'Repair the events file?',
    {
      modal: true,
      detail: `Damaged lines of ${file} (and its rotated files) move to a quarantine file next to it, with their line numbers and raw bytes. Valid lines stay. Nothing is deleted.`,
    },
    'Repair',
  );
  return ok === 'Repair';
}

/**
 * Telemetry Sink: Repair — asks first, however it is invoked (palette, the Verify result, or another
 * extension through executeCommand: no argument skips the question), then says what moved where.
 */
export async function repairCommand(d: CommandDeps, ask: (file: string) => Promise<boolean> = askToRepair): Promise<RepairResult[] | undefined> {
  const file = d.rt.file;
  if (!(await ask(file))) return undefined;
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
