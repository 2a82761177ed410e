import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';

/** Window focus gained / lost. */
export class WindowCollector extends Collector {
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(vscode.window.onDidChangeWindowState((s) => ctx.record('window.focus', { focused: s.focused })));
  }
}

/** Workspace folders added / removed (counts only). */
export class WorkspaceCollector extends Collector {
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.workspace.onDidChangeWorkspaceFolders((e) =>
        ctx.record('workspace.folders.change', { added: e.added.length, removed: e.removed.length, count: vscode.workspace.workspaceFolders?.length ?? 0 }),
      ),
    );
  }
}
