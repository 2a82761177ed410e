import * as vscode from 'vscode';

/** Read-only report documents (telemetry-sink-report:/…): people read them, nobody saves them. */
export class ReportProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  static readonly scheme = 'telemetry-sink-report';
  private readonly docs = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly reg = vscode.workspace.registerTextDocumentContentProvider(ReportProvider.scheme, this);

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.docs.get(uri.path) ?? '(this report is gone; run the command again)';
  }

  async show(name: string, text: string): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: ReportProvider.scheme, path: `/${name}` });
    this.docs.set(uri.path, text);
    this.emitter.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  dispose(): void {
    this.reg.dispose();
    this.emitter.dispose();
  }
}
