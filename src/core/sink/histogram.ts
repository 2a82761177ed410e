/**
 * A small log-linear histogram of durations in microseconds (8 sub-buckets per power of two,
 * so a reported percentile is within 12.5% of the true value). Constant memory, O(1) record.
 */
const SUB = 8;
const POWERS = 40;

export class Histogram {
  private readonly counts = new Float64Array(POWERS * SUB);
  count = 0;
  total = 0;
  max = 0;

  record(us: number): void {
    const v = us < 0 ? 0 : us;
    this.count++;
    this.total += v;
    if (v > this.max) this.max = v;
    this.counts[bucketOf(v)]!++;
  }

  /** Upper bound of the bucket holding the q-quantile (0..1), capped at the observed max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperOf(i), this.max);
    }
    return this.max;
  }

  summary(): { count: number; totalMs: number; maxMs: number; p50Ms: number; p99Ms: number } {
    return {
      count: this.count,
      totalMs: round3(this.total / 1000),
      maxMs: round3(this.max / 1000),
      p50Ms: round3(this.quantile(0.5) / 1000),
      p99Ms: round3(this.quantile(0.99) / 1000),
    };
  }
}

function bucketOf(v: number): number {
  if (v < 1) return 0;
  const p = Math.min(POWERS - 1, Math.floor(Math.log2(v)));
  const base = 2 ** p;
  const sub = Math.min(SUB - 1, Math.floor(((v - base) / base) * SUB));
  return p * SUB + sub;
}

function upperOf(i: number): number {
  const p = Math.floor(i / SUB);
  const sub = i % SUB;
  const base = 2 ** p;
  return base + ((sub + 1) * base) / SUB;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
