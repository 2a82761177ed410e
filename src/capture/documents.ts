import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';

/** Documents opened / closed / saved (file and untitled schemes by default). */
export class DocumentCollector extends Collector {
  constructor(ctx: CaptureContext) {
    super(ctx);
    const emit = (type: string, doc: vscode.TextDocument): void => {
      const d = ctx.describe(doc.uri);
      if (!d) return;
      ctx.record(type, { ...d, language_id: doc.languageId, line_count: doc.lineCount, scheme: doc.uri.scheme });
    };
    this.subs.push(
      vscode.workspace.onDidOpenTextDocument((d) => emit('editor.document.open', d)),
      vscode.workspace.onDidCloseTextDocument((d) => emit('editor.document.close', d)),
      vscode.workspace.onDidSaveTextDocument((d) => emit('editor.document.save', d)),
    );
  }
}
