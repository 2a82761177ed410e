/**
 * One pass over the set: open it (live file sized under a brief shared lock), match it with the
 * cursor, then ship every file from its offset to its size, oldest first. Lines that fail verify's
 * line checks are counted with verify's codes and passed over; a last line without its newline in
 * the live file is being written and waits for the next pass.
 */
import * as fs from 'node:fs';
import { closeShipSet, epochToken, excerpt, judge, openShipSet, RawLine, scanCanonicalFrom, withShipFile } from './adapter';
import type { Batcher, Mark } from './batch';
import type { Cursor, Gap } from './cursor';
import { afterRepair, describe, PlanItem, Present, reconcile } from './plan';
import type { CanonicalFields, Snapshot } from './adapter';
import { FastRows, toRow } from './rows';

export interface Problem {
  file: string;
  line: number;
  offset: number;
  code: string;
  message: string;
  excerpt?: string;
}

/** What a pass needs from the shipper that runs it. */
export interface PassHost {
  readonly file: string;
  readonly cursor: Cursor;
  readonly signal?: AbortSignal;
  readonly lockTimeoutMs: number;
  /** The origin column's value, TSV-escaped. */
  readonly origin: string;
  readonly batcher: Batcher;
  saveCursor(): void;
  gaps(g: Gap[]): void;
  reshipped(name: string, why: string): void;
  problem(p: Problem): void;
  /** Bytes this pass has to go through (for "N events behind"). */
  planned(bytes: number): void;
  /** Rows of canonical lines made from their bytes (verify's fast path); absent: every line judged in full. */
  readonly fast?: FastRows;
}

export interface PassResult {
  /** The live file's lock stayed busy: it was left for the next pass. */
  liveSkipped: boolean;
  /** Identity and size of the live file as read (follow mode looks for a change). */
  live?: { ino: string; size: number };
}

/** True when byte offset-1 is a newline: the cursor still points at a line start. */
function atLineStart(fd: number, offset: number): boolean {
  if (offset === 0) return true;
  const b = Buffer.alloc(1);
  return fs.readSync(fd, b, 0, 1, offset - 1) === 1 && b[0] === 10;
}

export async function shipPass(h: PassHost): Promise<PassResult> {
  const epoch = epochToken(h.file); // before the set is sized (see epochToken)
  const set = await openShipSet(h.file, h.lockTimeoutMs);
  const res: PassResult = { liveSkipped: false };
  try {
    // No file at all (not yet, or all removed): nothing to do, and the cursor is left as it is; once
    // files exist again, entries that are gone are reported as gaps.
    if (!set || !set.files.length) return res;
    // Each file is opened once to be described (a file gone by then is not present: a gap if unshipped).
    const present: Present[] = [];
    for (let i = 0; i < set.files.length; i++) {
      const live = set.files[i]!.live && set.files[i]!.path === h.file;
      await withShipFile(set, i, (snap) => void present.push(describe(snap, i, live)));
    }
    // A repair since the cursor was written moved bytes: its files are shipped again from 0.
    const repaired = (h.cursor.epoch ?? 'none') !== epoch;
    let entries = h.cursor.files;
    if (repaired) {
      const a = afterRepair(entries, present);
      entries = a.entries;
      for (const name of a.reset) h.reshipped(name, 'a repair rewrote the set in place since it was shipped (the repair epoch changed)');
    }
    h.cursor.epoch = epoch;
    const plan = reconcile(entries, present);
    const before = JSON.stringify(h.cursor.files.map((e) => [e.dev, e.ino, e.first, e.name]));
    h.cursor.files = plan.items.map((i) => i.entry);
    if (plan.gaps.length) h.gaps(plan.gaps);
    for (const name of plan.replaced) h.reshipped(name, 'rewritten in place (a new file under the same name with the same first event, e.g. by repair)');
    if (repaired || plan.gaps.length || plan.replaced.length || before !== JSON.stringify(h.cursor.files.map((e) => [e.dev, e.ino, e.first, e.name]))) h.saveCursor();
    const live = plan.items.find((i) => i.present.live);
    if (live) res.live = { ino: live.present.ino, size: live.present.size };
    const todo = plan.items.filter((i) => {
      if (i.present.live && !i.present.snap.locked) res.liveSkipped = true;
      return !(i.present.live && !i.present.snap.locked);
    });
    h.planned(todo.reduce((a, i) => a + Math.max(0, i.present.size - i.entry.offset), 0));
    for (const it of todo) await withShipFile(set, it.present.index, (snap) => shipFile(h, it, snap));
    await h.batcher.flush();
  } finally {
    closeShipSet(set);
  }
  return res;
}

async function shipFile(h: PassHost, it: PlanItem, snap: Snapshot): Promise<void> {
  const { present: p, entry } = it;
  let start = entry.offset;
  let line = entry.line;
  if (start > p.size || !atLineStart(snap.fd, start)) {
    h.reshipped(p.name, start > p.size ? `it is shorter (${p.size} bytes) than the cursor (${start})` : `no line ends at the cursor (${start})`);
    start = 0;
    line = 0;
    h.batcher.advance({ entry, offset: 0, line: 0 });
  }
  if (start >= p.size) return;
  const b = h.batcher;
  const onLine = (l: RawLine): void => {
    if (!l.terminated && p.live) return; // being written: the next pass ships it once complete
    const mark: Mark = { entry, offset: l.offset + l.length + (l.terminated ? 1 : 0), line: l.line };
    const v = judge(l);
    if (v.problem || !v.env) {
      const code = v.problem ?? 'schema';
      b.skip(code, mark);
      h.problem({ file: p.snap.path, line: l.line, offset: l.offset, code, message: v.message ?? code, excerpt: excerpt(l.bytes) });
      return;
    }
    b.add(toRow(v.env, l.bytes, v.crc === true, h.origin), mark, v.env.ts);
  };
  const fast = h.fast;
  const canonical = (buf: Buffer, s: number, e: number, f: CanonicalFields, ln: number, off: number): boolean => {
    const row = fast!.row(buf, s, e, f, h.origin);
    if (row === undefined) return false;
    b.add(row, { entry, offset: off + (e - s) + 1, line: ln }, fast!.ts);
    return true;
  };
  await scanCanonicalFrom(snap, { start, firstLine: line, signal: h.signal, fast: fast !== undefined, afterChunk: () => (b.waiting ? b.pump() : undefined) }, { canonical, other: onLine });
}
