import * as vscode from 'vscode';
import * as path from 'node:path';
import type { CommandDeps } from './deps';

/** Telemetry Sink: Reveal Events Folder — the OS file manager on desktop; the path elsewhere. */
export async function revealEventsFolder(d: CommandDeps): Promise<void> {
  const uri = vscode.Uri.file(d.rt.file);
  try {
    if (vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName) throw new Error('no local file manager');
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } catch {
    const pick = await vscode.window.showInformationMessage(`Events folder: ${path.dirname(d.rt.file)}`, 'Copy Path');
    if (pick) await vscode.env.clipboard.writeText(path.dirname(d.rt.file));
  }
}
