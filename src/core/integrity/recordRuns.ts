/**
 * External sort of fixed-width numeric records: records are kept in runs of RUN entries; a full run
 * is sorted (by fields 0, 1, 2) and spilled to an unlinked temp file; `forEachSorted` streams every
 * record back in that order through a k-way heap merge. Memory: one run plus a small read buffer per
 * spilled run, whatever the number of records.
 */
import * as fs from 'node:fs';
import { openUnlinkedTemp, readFullAt, writeAllAt } from './spill';

const READ = 512; // records per run read buffer while merging

interface Source {
  buf: Float64Array;
  i: number;
  len: number;
  /** Records of this run read so far (spilled runs); -1 for the in-memory run. */
  read: number;
  run: number;
  total: number;
}

export class RecordRuns {
  private cur: Float64Array;
  private n = 0;
  private fd: number | undefined;
  private runs: number[] = [];
  count = 0;

  constructor(
    readonly width: number,
    private readonly runRecords = 1 << 15,
  ) {
    this.cur = new Float64Array(width * runRecords);
  }

  /** Appends one record (the first `width` values of `rec`). */
  add(rec: ArrayLike<number>): void {
    const o = this.n * this.width;
    for (let k = 0; k < this.width; k++) this.cur[o + k] = rec[k]!;
    this.count++;
    if (++this.n === this.runRecords) this.spillRun();
  }

  private sortedRun(): Float64Array {
    const w = this.width;
    const c = this.cur;
    const idx = Array.from({ length: this.n }, (_, i) => i * w);
    idx.sort((x, y) => c[x]! - c[y]! || c[x + 1]! - c[y + 1]! || c[x + 2]! - c[y + 2]!);
    const out = new Float64Array(this.n * w);
    idx.forEach((x, j) => out.set(c.subarray(x, x + w), j * w));
    return out;
  }

  private spillRun(): void {
    const run = this.sortedRun();
    this.fd ??= openUnlinkedTemp('telemetry-sink-sessions');
    writeAllAt(this.fd, new Uint8Array(run.buffer), this.runs.length * this.runRecords * this.width * 8);
    this.runs.push(this.n);
    this.n = 0;
  }

  private refill(s: Source): void {
    const k = Math.min(READ, s.total - s.read);
    s.i = 0;
    s.len = Math.max(0, k);
    if (k <= 0) return;
    const bytes = new Uint8Array(s.buf.buffer, 0, k * this.width * 8);
    readFullAt(this.fd!, bytes, (s.run * this.runRecords + s.read) * this.width * 8);
    s.read += k;
  }

  /** Calls `fn(records, at)` for every record in sorted order (fields at records[at … at+width)). Consumes the runs. */
  forEachSorted(fn: (records: Float64Array, at: number) => void): void {
    const w = this.width;
    const sources: Source[] = this.runs.map((total, run) => ({ buf: new Float64Array(READ * w), i: 0, len: 0, read: 0, run, total }));
    sources.forEach((s) => this.refill(s));
    const last = this.sortedRun();
    sources.push({ buf: last, i: 0, len: this.n, read: -1, run: -1, total: this.n });
    const less = (a: Source, b: Source): boolean => {
      const x = a.i * w;
      const y = b.i * w;
      for (let k = 0; k < 3; k++) if (a.buf[x + k] !== b.buf[y + k]) return a.buf[x + k]! < b.buf[y + k]!;
      return a.run < b.run;
    };
    const heap = new MinHeap(sources.filter((s) => s.len > 0), less);
    for (let s = heap.top(); s; s = heap.top()) {
      fn(s.buf, s.i * w);
      if (++s.i >= s.len && s.read >= 0) this.refill(s);
      if (s.i >= s.len) heap.pop();
      else heap.siftDown(0);
    }
    this.dispose();
  }

  dispose(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.runs = [];
    this.n = 0;
  }
}

class MinHeap<T> {
  constructor(
    private readonly a: T[],
    private readonly less: (x: T, y: T) => boolean,
  ) {
    for (let i = (a.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  top(): T | undefined {
    return this.a[0];
  }

  pop(): void {
    const last = this.a.pop()!;
    if (this.a.length) {
      this.a[0] = last;
      this.siftDown(0);
    }
  }

  siftDown(i: number): void {
    const a = this.a;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}
