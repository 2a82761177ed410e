/**
 * Duplicate detection over millions of ids in little memory: each id becomes a 52-bit
 * fingerprint (8 bytes) kept in sorted chunks; duplicates are found by a k-way merge.
 * Candidates are then confirmed exactly by the caller (a second pass), so a fingerprint
 * collision can never be reported as a duplicate.
 */
const CHUNK = 1 << 20;

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
  private chunks: Float64Array[] = [];
  private cur = new Float64Array(CHUNK);
  private n = 0;
  count = 0;

  add(fp: number): void {
    this.cur[this.n++] = fp;
    this.count++;
    if (this.n === CHUNK) {
      this.cur.sort();
      this.chunks.push(this.cur);
      this.cur = new Float64Array(CHUNK);
      this.n = 0;
    }
  }

  /** Fingerprints seen more than once. Consumes the set. */
  duplicates(): Set<number> {
    if (this.n) this.chunks.push(this.cur.subarray(0, this.n).sort());
    this.cur = new Float64Array(0);
    const chunks = this.chunks;
    this.chunks = [];
    const idx = chunks.map(() => 0);
    const out = new Set<number>();
    let prev = NaN;
    for (;;) {
      let best = -1;
      let bestV = Infinity;
      for (let k = 0; k < chunks.length; k++) {
        const c = chunks[k]!;
        const i = idx[k]!;
        if (i < c.length && c[i]! < bestV) {
          bestV = c[i]!;
          best = k;
        }
      }
      if (best < 0) break;
      idx[best]!++;
      if (bestV === prev) out.add(bestV);
      prev = bestV;
    }
    return out;
  }
}
