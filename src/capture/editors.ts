import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';

/** Active editor and visible editors changed. */
export class EditorCollector extends Collector {
  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.window.onDidChangeActiveTextEditor((ed) => {
        const d = ed ? ctx.describe(ed.document.uri) : null;
        if (ed && !d) return;
        ctx.record('editor.active.change', ed ? { ...d, language_id: ed.document.languageId } : { none: true });
      }),
      vscode.window.onDidChangeVisibleTextEditors((eds) => {
        const langs: Record<string, number> = {};
        for (const e of eds) langs[e.document.languageId] = (langs[e.document.languageId] ?? 0) + 1;
        ctx.record('editor.visible.change', { count: eds.length, languages: langs });
      }),
    );
  }
}

/** Selection changes as debounced counts only (no positions, no text). */
export class SelectionCollector extends Collector {
  private count = 0;
  private kinds = { keyboard: 0, mouse: 0, command: 0 };
  private timer: NodeJS.Timeout | undefined;
  constructor(ctx: CaptureContext, private readonly windowMs = 5000) {
    super(ctx);
    this.subs.push(
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (!ctx.describe(e.textEditor.document.uri)) return;
        this.count++;
        if (e.kind === vscode.TextEditorSelectionChangeKind.Keyboard) this.kinds.keyboard++;
        else if (e.kind === vscode.TextEditorSelectionChangeKind.Mouse) this.kinds.mouse++;
        else this.kinds.command++;
        if (!this.timer) {
          this.timer = setTimeout(() => this.flush(), this.windowMs);
          this.timer.unref?.();
        }
      }),
    );
  }
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    this.ctx.record('editor.selection.change', { count: this.count, ...this.kinds, window_ms: this.windowMs });
    this.count = 0;
    this.kinds = { keyboard: 0, mouse: 0, command: 0 };
  }
  override dispose(): void {
    this.flush();
    super.dispose();
  }
}
