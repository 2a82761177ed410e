import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

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
  private cur = new Float64Array(CHUNK);
  private n = 0;
  private spill: { fd: number; path: string; runs: number[] } | undefined;

  add(fp: number): void {
    this.cur[this.n++] = fp;
    if (this.n === CHUNK) this.spillRun();
  }

  private spillRun(): void {
    this.cur.sort();
    if (!this.spill) {
      const p = path.join(os.tmpdir(), `telemetry-sink-ids-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
      this.spill = { fd: fs.openSync(p, 'wx+', 0o600), path: p, runs: [] };
      // Gone from the folder at once: nothing is left behind even if this process dies.
      fs.unlinkSync(p);
    }
    const buf = Buffer.from(this.cur.buffer, this.cur.byteOffset, this.n * 8);
    const at = this.spill.runs.length * CHUNK * 8;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.spill.fd, buf, off, buf.length - off, at + off);
    this.spill.runs.push(this.n);
    this.n = 0;
  }

  /** Fingerprints seen more than once. Consumes the set. */
  duplicates(): Set<number> {
    const last = this.cur.subarray(0, this.n).sort();
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
          const view = Buffer.from(buf.buffer, 0, k * 8);
          let got = 0;
          while (got < view.length) {
            const m = fs.readSync(fd, view, got, view.length - got, r * CHUNK * 8 + src.read * 8 + got);
            if (m === 0) break;
            got += m;
          }
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
