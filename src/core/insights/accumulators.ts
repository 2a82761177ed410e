/**
 * The small accumulators statistics are made of. Each one adds events, merges with another of its
 * kind (so per-file, per-hour pieces combine into any range) and encodes to / decodes from the cache.
 * Keys from the file only ever go into Maps: a model named `__proto__` is just a string.
 */
import { Sketch } from './sketch';
import { arr, fail, nat, num, str } from './codec';

export type Data = Record<string, unknown>;

/** An own member of an object parsed from the file (never an inherited one). */
export function field(d: Data, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(d, k) ? d[k] : undefined;
}

/** A count-like number from the file: finite, ≥ 0 and sane, else undefined. */
export function amount(d: Data, k: string): number | undefined {
  const v = field(d, k);
  return typeof v === 'number' && v >= 0 && v <= 1e12 ? v : undefined;
}

export class Counter {
  readonly m = new Map<string, number>();

  add(k: string, n = 1): void {
    this.m.set(k, (this.m.get(k) ?? 0) + n);
  }

  merge(o: Counter): void {
    for (const [k, n] of o.m) this.add(k, n);
  }

  total(): number {
    let t = 0;
    for (const n of this.m.values()) t += n;
    return t;
  }

  /** [k0, n0, k1, n1, …] */
  encode(): unknown[] {
    const out: unknown[] = [];
    for (const [k, n] of this.m) out.push(k, n);
    return out;
  }

  static decode(x: unknown): Counter {
    const a = arr(x, 'counter');
    if (a.length % 2) fail('bad counter');
    const c = new Counter();
    for (let i = 0; i < a.length; i += 2) c.add(str(a[i], 'key'), nat(a[i + 1]));
    return c;
  }
}

/** AI completion events of one group: counts by kind, what was accepted, tokens, latency. */
export class AiAcc {
  /** Counts in AI_KINDS order: shown, accepted, partially_accepted, rejected, error. */
  readonly kinds = [0, 0, 0, 0, 0];
  /** Reported events only (the acceptance rate's input): shown, accepted + partially, rejected. */
  readonly reported = [0, 0, 0];
  chars = 0;
  lines = 0;
  inputTokens = 0;
  outputTokens = 0;
  readonly latency = new Sketch();

  add(kind: number, reported: boolean, d: Data): void {
    this.kinds[kind]!++;
    const accepted = kind === 1 || kind === 2;
    if (reported) {
      if (kind === 0) this.reported[0]!++;
      else if (accepted) this.reported[1]!++;
      else if (kind === 3) this.reported[2]!++;
    }
    if (accepted) {
      this.chars += amount(d, 'chars') ?? 0;
      this.lines += amount(d, 'lines') ?? 0;
    }
    this.inputTokens += amount(d, 'gen_ai.usage.input_tokens') ?? 0;
    this.outputTokens += amount(d, 'gen_ai.usage.output_tokens') ?? 0;
    const lat = amount(d, 'latency_ms');
    if (lat !== undefined) this.latency.add(lat);
  }

  merge(o: AiAcc): void {
    for (let i = 0; i < 5; i++) this.kinds[i]! += o.kinds[i]!;
    for (let i = 0; i < 3; i++) this.reported[i]! += o.reported[i]!;
    this.chars += o.chars;
    this.lines += o.lines;
    this.inputTokens += o.inputTokens;
    this.outputTokens += o.outputTokens;
    this.latency.merge(o.latency);
  }

  encode(): unknown[] {
    return [...this.kinds, ...this.reported, this.chars, this.lines, this.inputTokens, this.outputTokens, this.latency.encode()];
  }

  static decode(x: unknown): AiAcc {
    const a = arr(x, 'ai', 13);
    const r = new AiAcc();
    for (let i = 0; i < 5; i++) r.kinds[i] = nat(a[i]);
    for (let i = 0; i < 3; i++) r.reported[i] = nat(a[5 + i]);
    r.chars = num(a[8]);
    r.lines = num(a[9]);
    r.inputTokens = num(a[10]);
    r.outputTokens = num(a[11]);
    r.latency.merge(Sketch.decode(a[12]));
    return r;
  }
}

/** Editor activity of one language in one local hour or day. */
export class EditAcc {
  bursts = 0;
  changes = 0;
  charsInserted = 0;
  charsDeleted = 0;
  saves = 0;
  /** Minutes (from the bucket's start) in which an edit burst was in progress: 30 per word. */
  readonly mask: number[] = [];

  mark(minute: number): void {
    const w = (minute / 30) | 0;
    while (this.mask.length <= w) this.mask.push(0);
    this.mask[w]! |= 1 << minute % 30;
  }

  get minutes(): number {
    let n = 0;
    for (const w of this.mask) n += popcount(w);
    return n;
  }

  /** Adds `o`; its minutes are `shift` minutes into this bucket (an hour folded into its day). */
  merge(o: EditAcc, shift = 0): void {
    this.bursts += o.bursts;
    this.changes += o.changes;
    this.charsInserted += o.charsInserted;
    this.charsDeleted += o.charsDeleted;
    this.saves += o.saves;
    if (shift === 0) {
      while (this.mask.length < o.mask.length) this.mask.push(0);
      o.mask.forEach((w, i) => (this.mask[i]! |= w));
    } else {
      o.mask.forEach((w, i) => {
        for (let v = w; v; v &= v - 1) this.mark(shift + i * 30 + (31 - Math.clz32(v & -v)));
      });
    }
  }

  encode(): unknown[] {
    return [this.bursts, this.changes, this.charsInserted, this.charsDeleted, this.saves, this.mask];
  }

  static decode(x: unknown): EditAcc {
    const a = arr(x, 'edit', 6);
    const r = new EditAcc();
    r.bursts = nat(a[0]);
    r.changes = num(a[1]);
    r.charsInserted = num(a[2]);
    r.charsDeleted = num(a[3]);
    r.saves = nat(a[4]);
    // A day has at most 25 hours (1,500 minutes): 50 words.
    for (const w of arr(a[5], 'minute mask')) r.mask.push(nat(w, 'minute mask') < 2 ** 30 && r.mask.length < 50 ? (w as number) : fail('bad minute mask'));
    return r;
  }
}

export function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

export const P99_BUCKETS: ReadonlyArray<readonly [string, number]> = [
  ['<0.1 ms', 0.1],
  ['0.1–1 ms', 1],
  ['1–10 ms', 10],
  ['10–100 ms', 100],
  ['≥100 ms', Infinity],
];

/** The sinks' own figures from `session.end` records. */
export class SinkAcc {
  sessions = 0;
  /** Each session's p99 lock wait (ms). */
  readonly p99 = new Sketch();
  readonly p99Buckets = [0, 0, 0, 0, 0];
  maxMs = 0;
  lockTimeouts = 0;
  dropped = 0;
  tornTailsFenced = 0;
  readonly backends = new Counter();

  /** Adds one session.end's `data.stats`; false when it carries no lock-wait figures. */
  add(st: Data): boolean {
    const lw = field(st, 'lockWait');
    if (!lw || typeof lw !== 'object') return false;
    const p99 = amount(lw as Data, 'p99Ms');
    if (p99 === undefined) return false;
    this.sessions++;
    this.p99.add(p99);
    this.p99Buckets[P99_BUCKETS.findIndex(([, hi]) => p99 < hi)]!++;
    this.maxMs = Math.max(this.maxMs, amount(lw as Data, 'maxMs') ?? 0);
    this.lockTimeouts += amount(st, 'lockTimeouts') ?? 0;
    const dr = field(st, 'dropped');
    if (dr && typeof dr === 'object') this.dropped += amount(dr as Data, 'total') ?? 0;
    this.tornTailsFenced += amount(st, 'tornTailsFenced') ?? 0;
    const backend = field(st, 'backend');
    if (typeof backend === 'string') this.backends.add(backend.slice(0, 64));
    return true;
  }

  merge(o: SinkAcc): void {
    this.sessions += o.sessions;
    this.p99.merge(o.p99);
    for (let i = 0; i < 5; i++) this.p99Buckets[i]! += o.p99Buckets[i]!;
    this.maxMs = Math.max(this.maxMs, o.maxMs);
    this.lockTimeouts += o.lockTimeouts;
    this.dropped += o.dropped;
    this.tornTailsFenced += o.tornTailsFenced;
    this.backends.merge(o.backends);
  }

  encode(): unknown[] {
    return [this.sessions, this.p99.encode(), this.p99Buckets, this.maxMs, this.lockTimeouts, this.dropped, this.tornTailsFenced, this.backends.encode()];
  }

  static decode(x: unknown): SinkAcc {
    const a = arr(x, 'sink', 8);
    const r = new SinkAcc();
    r.sessions = nat(a[0]);
    r.p99.merge(Sketch.decode(a[1]));
    arr(a[2], 'p99 buckets', 5).forEach((v, i) => (r.p99Buckets[i] = nat(v)));
    r.maxMs = num(a[3]);
    r.lockTimeouts = num(a[4]);
    r.dropped = num(a[5]);
    r.tornTailsFenced = num(a[6]);
    r.backends.merge(Counter.decode(a[7]));
    return r;
  }
}
