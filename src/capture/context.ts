import * as vscode from 'vscode';
import type { Settings } from '../core/settings';

/** What every collector gets from the composition root. */
export interface CaptureContext {
  /** Records one event; never throws (faults are counted and logged by the sink). */
  record(type: string, data: Record<string, unknown>): void;
  settings(): Settings;
  /** The document path as settings want it; null when the document is not to be captured at all. */
  describe(uri: vscode.Uri): { path?: string } | null;
  log: vscode.LogOutputChannel;
}

/** Base: collects disposables, disposes them once. */
export abstract class Collector implements vscode.Disposable {
  protected readonly subs: vscode.Disposable[] = [];
  constructor(protected readonly ctx: CaptureContext) {}
  dispose(): void {
    for (const d of this.subs.splice(0)) d.dispose();
  }
}
