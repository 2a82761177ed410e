import * as vscode from 'vscode';
import { CATEGORIES, Category, Settings } from '../core/settings';
import { CaptureContext, Collector } from './context';
import { DocumentCollector } from './documents';
import { EditCollector } from './edits';
import { EditorCollector, SelectionCollector } from './editors';
import { WindowCollector, WorkspaceCollector } from './window';
import { DebugCollector, TaskCollector, TerminalCollector } from './terminals';
import { AiHeuristicCollector } from './aiHeuristic';

const FACTORIES: Record<Category, Array<(ctx: CaptureContext) => Collector>> = {
  documents: [(c) => new DocumentCollector(c)],
  edits: [(c) => new EditCollector(c)],
  editors: [(c) => new EditorCollector(c)],
  selection: [(c) => new SelectionCollector(c)],
  window: [(c) => new WindowCollector(c)],
  terminals: [(c) => new TerminalCollector(c)],
  tasks: [(c) => new TaskCollector(c)],
  debug: [(c) => new DebugCollector(c)],
  workspace: [(c) => new WorkspaceCollector(c)],
  ai: [(c) => new AiHeuristicCollector(c)],
};

/** The collectors of the categories the settings switch on: started and stopped as they change. */
export class Collectors implements vscode.Disposable {
  private readonly active = new Map<Category, Collector[]>();

  constructor(private readonly ctx: CaptureContext) {}

  /** Starts the categories now wanted, stops the ones no longer wanted. */
  sync(s: Settings): void {
    for (const c of CATEGORIES) {
      const want = s.enabled && s.capture[c] && (c !== 'ai' || s.ai.heuristic);
      const have = this.active.get(c);
      if (want && !have) this.active.set(c, FACTORIES[c].map((f) => f(this.ctx)));
      if (!want && have) {
        for (const x of have) x.dispose();
        this.active.delete(c);
      }
    }
  }

  /** Writes what collectors hold back (open edit bursts, selection counts). */
  flush(): void {
    for (const list of this.active.values()) for (const x of list) (x as { flush?: () => void }).flush?.();
  }

  dispose(): void {
    for (const list of this.active.values()) for (const x of list) x.dispose();
    this.active.clear();
  }
}
