/**
 * A mergeable quantile sketch with a stated relative error (the DDSketch idea: logarithmic buckets).
 *
 * A value v goes to bucket i = ceil(log_γ v) with γ = (1 + α) / (1 − α); the bucket reports
 * 2γ^i / (γ + 1), which is within α of every value the bucket can hold. So a reported quantile is
 * within ±α (1 %) of the true nearest-rank quantile of the values added. Values below 0.01 (ms) count
 * as zero and values above 1e9 as 1e9. Two sketches merge by adding bucket counts — exactly what one
 * sketch of all the values gives — so per-file, per-hour sketches combine into any range.
 * Buckets are a dense array from the lowest index used: merging is a loop of additions.
 */
export const RELATIVE_ERROR = 0.01;
const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LN_GAMMA = Math.log(GAMMA);
const MIN_VALUE = 0.01;
const MAX_VALUE = 1e9;
const MIN_INDEX = Math.ceil(Math.log(MIN_VALUE) / LN_GAMMA);
const MAX_INDEX = Math.ceil(Math.log(MAX_VALUE) / LN_GAMMA);

export class Sketch {
  /** counts[k] is the count of bucket offset + k. */
  private counts: number[] = [];
  private offset = 0;
  zeros = 0;
  count = 0;

  add(v: number, n = 1): void {
    if (!(v >= 0)) return; // NaN and negatives are not latencies
    this.count += n;
    if (v < MIN_VALUE) this.zeros += n;
    else this.bump(Math.ceil(Math.log(Math.min(v, MAX_VALUE)) / LN_GAMMA), n);
  }

  private bump(i: number, n: number): void {
    const c = this.counts;
    if (c.length === 0) {
      this.offset = i;
      c.push(n);
      return;
    }
    if (i < this.offset) {
      this.counts = new Array<number>(this.offset - i).fill(0).concat(c);
      this.offset = i;
    } else if (i >= this.offset + c.length) {
      for (let k = c.length; k <= i - this.offset; k++) c.push(0);
    }
    this.counts[i - this.offset]! += n;
  }

  merge(o: Sketch): void {
    if (o.count === 0) return;
    this.count += o.count;
    this.zeros += o.zeros;
    const oc = o.counts;
    if (!oc.length) return;
    // Widen once to cover o's range, then add element-wise.
    this.bump(o.offset, 0);
    this.bump(o.offset + oc.length - 1, 0);
    const base = o.offset - this.offset;
    for (let k = 0; k < oc.length; k++) this.counts[base + k]! += oc[k]!;
  }

  /** Nearest-rank q-quantiles (each 0 < q ≤ 1, ascending) within ±RELATIVE_ERROR; undefined when empty. */
  quantiles(qs: readonly number[]): Array<number | undefined> {
    if (this.count === 0) return qs.map(() => undefined);
    const out: number[] = [];
    let seen = this.zeros;
    let k = -1;
    for (const q of qs) {
      const rank = Math.max(1, Math.ceil(q * this.count));
      if (rank <= this.zeros) {
        out.push(0);
        continue;
      }
      while (seen < rank && k < this.counts.length - 1) seen += this.counts[++k]!;
      out.push((2 * GAMMA ** (this.offset + k)) / (GAMMA + 1));
    }
    return out;
  }

  /** [zeros, offset, c0, c1, …] for the cache; a run of k empty buckets is written as -k. */
  encode(): number[] {
    const out = [this.zeros, this.offset];
    for (let k = 0; k < this.counts.length; k++) {
      if (this.counts[k]) out.push(this.counts[k]!);
      else if (out[out.length - 1]! < 0 && out.length > 2) out[out.length - 1]!--;
      else out.push(-1);
    }
    return out;
  }

  /** Inverse of encode; throws on anything encode cannot have written. */
  static decode(a: unknown): Sketch {
    if (!Array.isArray(a) || a.length < 2 || a.length > MAX_INDEX - MIN_INDEX + 3) throw new TypeError('sketch: bad shape');
    const s = new Sketch();
    s.zeros = count(a[0]);
    s.count = s.zeros;
    const off = a[1] as unknown;
    if (!Number.isSafeInteger(off) || (off as number) < MIN_INDEX || (off as number) > MAX_INDEX + 1) throw new TypeError('sketch: bad offset');
    s.offset = off as number;
    for (let k = 2; k < a.length; k++) {
      const x = a[k] as unknown;
      if (Number.isSafeInteger(x) && (x as number) < 0) {
        for (let z = 0; z < -(x as number) && s.counts.length <= MAX_INDEX - MIN_INDEX; z++) s.counts.push(0);
        continue;
      }
      const n = count(x);
      s.counts.push(n);
      s.count += n;
    }
    if (s.offset + s.counts.length - 1 > MAX_INDEX + 1) throw new TypeError('sketch: bad length');
    if (!Number.isSafeInteger(s.count)) throw new TypeError('sketch: bad total');
    return s;
  }
}

function count(x: unknown): number {
  if (!Number.isSafeInteger(x) || (x as number) < 0) throw new TypeError('sketch: bad count');
  return x as number;
}
