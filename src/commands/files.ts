import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/** Telemetry Sink: Open Events File */
export async function openEventsFile(d: CommandDeps): Promise<void> {
  await d.rt.sink?.flush();
  try {
    await vscode.window.showTextDocument(vscode.Uri.file(d.rt.file), { preview: true });
  } catch (err) {
    void vscode.window.showErrorMessage(`Telemetry Sink: cannot open ${d.rt.file}: ${(err as Error).message}`);
  }
}
