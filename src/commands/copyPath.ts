import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/** Telemetry Sink: Copy Events File Path */
export async function copyEventsFilePath(d: CommandDeps): Promise<string> {
  await vscode.env.clipboard.writeText(d.rt.file);
  void vscode.window.setStatusBarMessage(`Copied ${d.rt.file}`, 3000);
  return d.rt.file;
}
