import * as vscode from 'vscode';
import { Collector, CaptureContext } from './context';
import { BurstCoalescer, countNewlines, EditDelta } from '../core/capture/bursts';

const QUIET_MS = 1000;
/** The in-host tests' hook (extension.ts, test mode only): a longer quiet window, so a loaded machine cannot split one burst. */
let quietOverride: number | undefined;
export function setEditQuietMsForTests(ms: number | undefined): void {
  quietOverride = ms;
}

/**
 * Edits coalesced into bursts per document: a burst ends after ~1 s without edits (or on save/close).
 * The keystroke path only updates counters in a Map; events are written when a burst ends.
 */
export class EditCollector extends Collector {
  private readonly bursts = new BurstCoalescer(QUIET_MS);
  private readonly docs = new Map<string, { uri: vscode.Uri; text?: string[] }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(ctx: CaptureContext) {
    super(ctx);
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.workspace.onDidSaveTextDocument((d) => this.end(d.uri.toString())),
      vscode.workspace.onDidCloseTextDocument((d) => this.end(d.uri.toString())),
    );
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const key = e.document.uri.toString();
    let meta = this.docs.get(key);
    if (!meta) {
      if (!this.ctx.describe(e.document.uri)) return;
      meta = { uri: e.document.uri };
      this.docs.set(key, meta);
    }
    const undo = e.reason === vscode.TextDocumentChangeReason.Undo;
    const redo = e.reason === vscode.TextDocumentChangeReason.Redo;
    const deltas: EditDelta[] = e.contentChanges.map((c) => ({
      inserted: c.text.length,
      deleted: c.rangeLength,
      linesAdded: countNewlines(c.text),
      linesRemoved: c.range.end.line - c.range.start.line,
      undo,
      redo,
    }));
    if (this.ctx.settings().captureContent) (meta.text ??= []).push(...e.contentChanges.map((c) => c.text).filter(Boolean));
    this.bursts.add(key, e.document.languageId, deltas, Date.now());
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), 250);
      this.timer.unref?.();
    }
  }

  private tick(): void {
    for (const b of this.bursts.due(Date.now(), quietOverride)) this.write(b);
    if (this.bursts.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private end(key: string): void {
    for (const b of this.bursts.take(key)) this.write(b);
  }

  private write(b: ReturnType<BurstCoalescer['take']>[number]): void {
    const meta = this.docs.get(b.key);
    const d = meta ? this.ctx.describe(meta.uri) : null;
    if (!d) return;
    const data: Record<string, unknown> = {
      ...d,
      language_id: b.languageId,
      changes: b.changes,
      chars_inserted: b.charsInserted,
      chars_deleted: b.charsDeleted,
      lines_added: b.linesAdded,
      lines_removed: b.linesRemoved,
      undo: b.undo,
      redo: b.redo,
      duration_ms: b.lastAt - b.startedAt,
    };
    if (meta?.text && this.ctx.settings().captureContent) data.text = meta.text.join('').slice(0, 4096);
    this.docs.delete(b.key);
    this.ctx.record('editor.document.change', data);
  }

  /** Ends every open burst (dispose, pause, deactivate). */
  flush(): void {
    for (const b of this.bursts.take()) this.write(b);
  }

  override dispose(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    super.dispose();
  }
}
