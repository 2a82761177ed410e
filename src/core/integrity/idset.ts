import * as fs from 'node:fs';
import { openUnlinkedTemp, readFullAt, writeAllAt } from './spill';

/**
 * Duplicate detection over millions of ids in constant memory: each id becomes a 52-bit
 * fingerprint; fingerprints are kept in sorted runs of CHUNK entries, full runs spill to a private
 * temp file, and duplicates are found by a k-way merge that streams the runs back. Candidates are
 * then confirmed exactly by the caller (a second pass), so a fingerprint collision can never be
 * reported as a duplicate.
 */
const CHUNK = 1 << 18; // 2 MiB of fingerprints in memory
const READ = 8192; // entries per read buffer while merging

export function fingerprint(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 1048576 + ((h2 >>> 0) & 0xfffff);
}

export class FingerprintSet {
  /** Grows to CHUNK entries (small files stay small), then spills. */
  private cur = new Float64Array(4096);
  private n = 0;
  private spill: { fd: number; runs: number[] } | undefined;

  add(fp: number): void {
    if (this.n === this.cur.length) {
      if (this.n < CHUNK) {
        const g = new Float64Array(this.n * 2);
        g.set(this.cur);
        this.cur = g;
      } else this.spillRun();
    }
    this.cur[this.n++] = fp;
  }

  private spillRun(): void {
    this.cur.sort();
    this.spill ??= { fd: openUnlinkedTemp('telemetry-sink-ids'), runs: [] };
    writeAllAt(this.spill.fd, new Uint8Array(this.cur.buffer, this.cur.byteOffset, this.n * 8), this.spill.runs.length * CHUNK * 8);
    this.spill.runs.push(this.n);
    this.n = 0;
  }

  /** Fingerprints seen more than once. Consumes the set. */
  duplicates(): Set<number> {
    const last = this.cur.subarray(0, this.n).sort();
    if (!this.spill) {
      // One sorted run: neighbours.
      const out = new Set<number>();
      for (let i = 1; i < last.length; i++) if (last[i] === last[i - 1]) out.add(last[i]!);
      this.dispose();
      return out;
    }
    const sources: Array<{ buf: Float64Array; i: number; len: number; refill: () => void }> = [];
    if (this.spill) {
      const { fd, runs } = this.spill;
      runs.forEach((len, r) => {
        const buf = new Float64Array(READ);
        const src = { buf, i: 0, len: 0, read: 0, refill: () => undefined as void };
        src.refill = () => {
          const k = Math.min(READ, len - src.read);
          if (k <= 0) {
            src.len = 0;
            src.i = 0;
            return;
          }
          readFullAt(fd, new Uint8Array(buf.buffer, 0, k * 8), r * CHUNK * 8 + src.read * 8);
          src.read += k;
          src.len = k;
          src.i = 0;
        };
        src.refill();
        sources.push(src);
      });
    }
    sources.push({ buf: last, i: 0, len: last.length, refill: () => undefined });
    const out = new Set<number>();
    let prev = NaN;
    for (;;) {
      let best = -1;
      let bestV = Infinity;
      for (let k = 0; k < sources.length; k++) {
        const s = sources[k]!;
        if (s.i >= s.len) continue;
        const v = s.buf[s.i]!;
        if (v < bestV) {
          bestV = v;
          best = k;
        }
      }
      if (best < 0) break;
      const s = sources[best]!;
      if (++s.i >= s.len) s.refill(); // an exhausted run refills to len 0 and is skipped
      if (bestV === prev) out.add(bestV);
      prev = bestV;
    }
    this.dispose();
    return out;
  }

  dispose(): void {
    if (this.spill) {
      fs.closeSync(this.spill.fd);
      this.spill = undefined;
    }
    this.cur = new Float64Array(0);
    this.n = 0;
  }
}
