import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/** Telemetry Sink: Rotate Now */
export async function rotateNow(d: CommandDeps): Promise<boolean> {
  const sink = d.rt.sink;
  if (!sink) {
    void vscode.window.showErrorMessage('Telemetry Sink: no events file is open.');
    return false;
  }
  const r = await sink.rotateNow();
  if (r.error) void vscode.window.showErrorMessage(`Telemetry Sink: rotation failed: ${r.error.message}`);
  else void vscode.window.showInformationMessage(r.rotated ? 'Telemetry Sink: rotated the events file.' : 'Telemetry Sink: the events file is empty; nothing to rotate.');
  return r.rotated;
}
