import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';
import { countNewlines } from '../core/capture/bursts';
import { scoreChange } from '../core/capture/heuristic';

/**
 * Heuristic AI-acceptance detection for providers that report nothing: a single large or multi-line
 * insert, not undo/redo, not a paste, shortly after typing, while a known AI extension is active.
 */
export class AiHeuristicCollector extends Collector {
  private readonly lastTyping = new Map<string, number>();
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.lastTyping.delete(d.uri.toString())),
    );
  }

  private aiActive(): boolean {
    const known = this.ctx.settings().ai.knownExtensions;
    return known.some((id) => vscode.extensions.getExtension(id)?.isActive === true);
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const key = e.document.uri.toString();
    const now = Date.now();
    const c = e.contentChanges[0]!;
    const single = e.contentChanges.length === 1 && c.text.length > 0;
    const small = c.text.length <= 2 && !c.text.includes('\n');
    const since = now - (this.lastTyping.get(key) ?? -Infinity);
    if (small) {
      this.lastTyping.set(key, now);
      return;
    }
    if (!single) return;
    const d = this.ctx.describe(e.document.uri);
    if (!d) return;
    const text = c.text;
    const facts = {
      singleInsert: true,
      insertedChars: text.length,
      insertedNonWhitespace: text.replace(/\s+/g, '').length,
      insertedLines: countNewlines(text),
      replacedChars: c.rangeLength,
      undoRedo: e.reason !== undefined,
      isPaste: false,
      msSinceTyping: since,
      aiExtensionActive: this.aiActive(),
    };
    if (!scoreChange(facts).accepted) return;
    const languageId = e.document.languageId;
    // A paste is not a completion: compare with the clipboard before recording. In the browser,
    // reading the clipboard asks the user for permission (an error toast), so web UIs skip it.
    const clipboard = vscode.env.uiKind === vscode.UIKind.Web ? Promise.resolve('\u0000') : vscode.env.clipboard.readText();
    void clipboard.then(
      (clip) => {
        const s = scoreChange({ ...facts, isPaste: clip === text });
        if (!s.accepted) return;
        const data: Record<string, unknown> = {
          kind: 'accepted',
          detection: 'heuristic',
          confidence: s.confidence,
          reasons: s.reasons,
          chars: facts.insertedChars,
          lines: facts.insertedLines + 1,
          language_id: languageId,
          ...d,
        };
        if (this.ctx.settings().captureContent) data.text = text.slice(0, 4096);
        this.ctx.record('ai.completion.accepted', data);
      },
      () => undefined,
    );
  }
}
