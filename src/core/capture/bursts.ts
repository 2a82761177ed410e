/**
 * Coalesces document edits into bursts per document (pure; time is passed in). A burst ends after
 * `quietMs` without edits to that document, or when flushed (save, close, dispose).
 */
export interface EditDelta {
  /** Characters inserted and deleted by one content change. */
  inserted: number;
  deleted: number;
  linesAdded: number;
  linesRemoved: number;
  undo: boolean;
  redo: boolean;
}

export interface Burst {
  key: string;
  languageId: string;
  startedAt: number;
  lastAt: number;
  changes: number;
  charsInserted: number;
  charsDeleted: number;
  linesAdded: number;
  linesRemoved: number;
  undo: number;
  redo: number;
}

export class BurstCoalescer {
  private readonly open = new Map<string, Burst>();
  constructor(private readonly quietMs = 1000) {}

  add(key: string, languageId: string, deltas: EditDelta[], now: number): void {
    let b = this.open.get(key);
    if (!b) {
      b = { key, languageId, startedAt: now, lastAt: now, changes: 0, charsInserted: 0, charsDeleted: 0, linesAdded: 0, linesRemoved: 0, undo: 0, redo: 0 };
      this.open.set(key, b);
    }
    b.lastAt = now;
    b.changes++;
    let undo = false;
    let redo = false;
    for (const d of deltas) {
      b.charsInserted += d.inserted;
      b.charsDeleted += d.deleted;
      b.linesAdded += d.linesAdded;
      b.linesRemoved += d.linesRemoved;
      undo ||= d.undo;
      redo ||= d.redo;
    }
    if (undo) b.undo++;
    if (redo) b.redo++;
  }

  /** Bursts quiet for at least `quietMs` by `now` (removed from the open set). */
  due(now: number, quietMs = this.quietMs): Burst[] {
    const out: Burst[] = [];
    for (const [k, b] of this.open) {
      if (now - b.lastAt >= quietMs) {
        out.push(b);
        this.open.delete(k);
      }
    }
    return out;
  }

  /** Ends the burst of one document now (save/close), or all of them. */
  take(key?: string): Burst[] {
    if (key !== undefined) {
      const b = this.open.get(key);
      if (!b) return [];
      this.open.delete(key);
      return [b];
    }
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }

  get size(): number {
    return this.open.size;
  }
}

/** Counts lines in a string without allocating. */
export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
