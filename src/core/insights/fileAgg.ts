/**
 * The aggregate of one events file (or of the part of it read so far), bucketed by local hour.
 * Hours older than two days are folded into their local day (no range needs them finer: the 24 h
 * range only looks at the last 24 hours), which keeps memory and the cache small.
 * Built once per rotated file and kept in the cache; the live file's is extended with new lines.
 */
import { AI_KINDS } from '../lists';
import { AiAcc, amount, Counter, EditAcc, field, SinkAcc, type Data } from './accumulators';
import { arr, fail, guarded, int, nat, str } from './codec';
import type { LocalClock } from './clock';
import type { LineParser, StatsEvent } from './event';

/** AI group dimensions, in key order. */
export type AiDims = [provider: string, model: string, where: 'local' | 'remote' | 'unknown', detection: string, language: string];

const MAX_KEY = 128;
const HOUR = 3_600_000;
const MAX_BURST_MS = 6 * HOUR;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
/** Distinct values kept per dimension and file; further ones count under OTHER (bounds memory and the cache). */
const CAPS: Record<string, number> = { type: 1000, source: 200, provider: 200, model: 500, detection: 20, language: 300, sid: 20_000 };
export const OTHER = '(other)';

/** The accumulators of one local hour or day. */
export class Bucket {
  /** Epoch ms of the first and last event in the bucket (NaN when it only holds minutes of a burst). */
  first = NaN;
  last = NaN;
  readonly types = new Counter();
  readonly sources = new Counter();
  /** JSON of AiDims → accumulator. */
  readonly ai = new Map<string, AiAcc>();
  /** language → editor activity. */
  readonly edit = new Map<string, EditAcc>();
  sink: SinkAcc | undefined;

  editOf(language: string): EditAcc {
    let a = this.edit.get(language);
    if (!a) this.edit.set(language, (a = new EditAcc()));
    return a;
  }

  seen(t: number): void {
    if (!(t >= this.first)) this.first = t;
    if (!(t <= this.last)) this.last = t;
  }

  /** Adds `o`; its editor minutes start `shift` minutes into this bucket. */
  merge(o: Bucket, shift = 0): void {
    if (!Number.isNaN(o.first)) this.seen(o.first);
    if (!Number.isNaN(o.last)) this.seen(o.last);
    this.types.merge(o.types);
    this.sources.merge(o.sources);
    for (const [k, a] of o.ai) mergeInto(this.ai, k, a, () => new AiAcc());
    for (const [k, a] of o.edit) this.editOf(k).merge(a, shift);
    if (o.sink) (this.sink ??= new SinkAcc()).merge(o.sink);
  }

  encode(): unknown[] {
    const ai: unknown[] = [];
    for (const [k, a] of this.ai) ai.push(JSON.parse(k), a.encode());
    const edit: unknown[] = [];
    for (const [k, a] of this.edit) edit.push(k, a.encode());
    const t = (x: number): number | null => (Number.isNaN(x) ? null : x);
    return [t(this.first), t(this.last), this.types.encode(), this.sources.encode(), ai, edit, this.sink?.encode() ?? null];
  }

  static decode(x: unknown): Bucket {
    const a = arr(x, 'hour', 7);
    const h = new Bucket();
    if (a[0] !== null) h.first = int(a[0], 'instant');
    if (a[1] !== null) h.last = int(a[1], 'instant');
    h.types.merge(Counter.decode(a[2]));
    h.sources.merge(Counter.decode(a[3]));
    const ai = arr(a[4], 'ai groups');
    for (let i = 0; i < ai.length; i += 2) h.ai.set(JSON.stringify(decodeDims(ai[i])), AiAcc.decode(ai[i + 1]));
    const edit = arr(a[5], 'edit');
    for (let i = 0; i < edit.length; i += 2) h.edit.set(str(edit[i], 'language'), EditAcc.decode(edit[i + 1]));
    if (a[6] !== null) h.sink = SinkAcc.decode(a[6]);
    return h;
  }
}

function decodeDims(x: unknown): AiDims {
  const d = arr(x, 'ai dims', 5).map((v) => str(v, 'ai dim'));
  if (d[2] !== 'local' && d[2] !== 'remote' && d[2] !== 'unknown') fail('bad ai where');
  return d as AiDims;
}

export function mergeInto<T extends { merge(o: T): void }>(m: Map<string, T>, k: string, a: T, make: () => T): void {
  let t = m.get(k);
  if (!t) m.set(k, (t = make()));
  t.merge(a);
}

/**
 * The members of `data` the aggregates read (through field/amount/text; a unit test checks this list
 * against the code), and the event types whose data FileAgg.add reads at all: the fast reader takes
 * only these from the bytes.
 */
export const DATA_KEYS: readonly string[] = ['language_id', 'changes', 'chars_inserted', 'chars_deleted', 'duration_ms', 'detection', 'is_local', 'extension', 'gen_ai.provider.name', 'gen_ai.request.model', 'chars', 'lines', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'latency_ms', 'stats'];

export function usesData(type: string): boolean {
  return type.startsWith('ai.completion.') || type === 'editor.document.change' || type === 'editor.document.save' || type === 'session.end';
}

export interface SessionAcc {
  first: number;
  last: number;
  events: number;
  source: string;
}

export class FileAgg {
  readonly hours = new Map<number, Bucket>();
  /** Local day (YYYY-MM-DD) → what `compact` folded in; editor minutes count from the day's start. */
  readonly days = new Map<string, Bucket>();
  readonly sessions = new Map<string, SessionAcc>();
  lines = 0;
  unreadable = 0;
  private readonly kept = new Map<string, Set<string>>();
  /** The hour bucket used last (events come in time order), forgotten when hours are folded. */
  private lastHour = NaN;
  private lastBucket: Bucket | undefined;
  private lastDims: AiDims | undefined;
  private lastDimsKey = '';

  constructor(private readonly clock: LocalClock) {}

  addLine(bytes: Buffer, parse: LineParser): void {
    this.lines++;
    const e = parse(bytes);
    if (e) this.add(e);
    else this.unreadable++;
  }

  /** Reads `e.data` only for the types usesData names. */
  add(e: StatsEvent): void {
    const h = this.hour(e.t);
    h.seen(e.t);
    h.types.add(this.key('type', e.type));
    const source = this.key('source', e.source);
    h.sources.add(source);
    this.session(e, source);
    if (e.type.startsWith('ai.completion.')) this.addAi(h, e);
    else if (e.type === 'editor.document.change') this.addEdit(e);
    else if (e.type === 'editor.document.save') h.editOf(this.language(e.data)).saves++;
    else if (e.type === 'session.end') this.addSink(h, e.data);
  }

  private hour(t: number): Bucket {
    const start = this.clock.hourStart(t);
    if (start === this.lastHour) return this.lastBucket!;
    let h = this.hours.get(start);
    if (!h) this.hours.set(start, (h = new Bucket()));
    this.lastHour = start;
    this.lastBucket = h;
    return h;
  }

  /** A file value as a key: truncated, and past its dimension's cap folded into OTHER. */
  private key(dim: string, v: string): string {
    let k = v;
    if (k.length > MAX_KEY) {
      k = k.slice(0, MAX_KEY);
      const last = k.charCodeAt(MAX_KEY - 1);
      if (last >= 0xd800 && last <= 0xdbff) k = k.slice(0, -1); // never half a surrogate pair
    }
    let set = this.kept.get(dim);
    if (!set) this.kept.set(dim, (set = new Set()));
    if (set.has(k)) return k;
    if (set.size >= CAPS[dim]!) return OTHER;
    set.add(k);
    return k;
  }

  /** A string member as a key of `dim`; missing or empty → `fallback` (through the cap too). */
  private text(d: Data, name: string, dim: string, fallback?: string): string | undefined {
    const v = field(d, name);
    const s = typeof v === 'string' && v !== '' ? v : fallback;
    return s === undefined ? undefined : this.key(dim, s);
  }

  private language(d: Data): string {
    return this.text(d, 'language_id', 'language', 'unknown')!;
  }

  private session(e: StatsEvent, source: string): void {
    const sid = this.key('sid', e.sid);
    const s = this.sessions.get(sid);
    if (!s) this.sessions.set(sid, { first: e.t, last: e.t, events: 1, source });
    else {
      s.events++;
      if (e.t < s.first) s.first = e.t;
      if (e.t > s.last) s.last = e.t;
    }
  }

  private addAi(h: Bucket, e: StatsEvent): void {
    const kind = (AI_KINDS as readonly string[]).indexOf(e.type.slice('ai.completion.'.length));
    if (kind < 0) return;
    const d = e.data;
    const det = field(d, 'detection');
    const detection = this.key('detection', typeof det === 'string' ? det : 'reported');
    const local = field(d, 'is_local');
    const dims: AiDims = [
      this.text(d, 'gen_ai.provider.name', 'provider') ?? this.text(d, 'extension', 'provider', 'unknown')!,
      this.text(d, 'gen_ai.request.model', 'model', 'unknown')!,
      local === true ? 'local' : local === false ? 'remote' : 'unknown',
      detection,
      this.language(d),
    ];
    const k = this.dimsKey(dims);
    let a = h.ai.get(k);
    if (!a) h.ai.set(k, (a = new AiAcc()));
    a.add(kind, detection === 'reported', d);
  }

  /** JSON of the dims (the group's key), remembered for the last group: events of one group come in runs. */
  private dimsKey(dims: AiDims): string {
    const l = this.lastDims;
    if (!l || l[0] !== dims[0] || l[1] !== dims[1] || l[2] !== dims[2] || l[3] !== dims[3] || l[4] !== dims[4]) {
      this.lastDims = dims;
      this.lastDimsKey = JSON.stringify(dims);
    }
    return this.lastDimsKey;
  }

  /** An edit burst: counts go to the hour it ended in; every minute it spanned is marked active. */
  private addEdit(e: StatsEvent): void {
    const d = e.data;
    const lang = this.language(d);
    const a = this.hour(e.t).editOf(lang);
    a.bursts++;
    a.changes += amount(d, 'changes') ?? 0;
    a.charsInserted += amount(d, 'chars_inserted') ?? 0;
    a.charsDeleted += amount(d, 'chars_deleted') ?? 0;
    const dur = field(d, 'duration_ms');
    const start = e.t - (typeof dur === 'number' && dur > 0 ? Math.min(dur, MAX_BURST_MS) : 0);
    for (let m = Math.floor(start / 60_000); m <= Math.floor(e.t / 60_000); m++) {
      const at = m * 60_000;
      const hs = this.clock.hourStart(at);
      this.hour(at).editOf(lang).mark(Math.min(59, Math.max(0, Math.floor((at - hs) / 60_000))));
    }
  }

  private addSink(h: Bucket, d: Data): void {
    const st = field(d, 'stats');
    if (!st || typeof st !== 'object') return;
    const s = new SinkAcc();
    if (s.add(st as Data)) (h.sink ??= new SinkAcc()).merge(s);
  }

  /** Folds every hour that ended before `before` into its local day; returns how many. */
  compact(before: number): number {
    let n = 0;
    this.lastHour = NaN;
    this.lastBucket = undefined;
    for (const [hs, h] of this.hours) {
      if (hs + HOUR > before) continue;
      const day = this.clock.dayKey(hs);
      let d = this.days.get(day);
      if (!d) this.days.set(day, (d = new Bucket()));
      d.merge(h, Math.max(0, Math.round((hs - this.clock.startOfDay(day)) / 60_000)));
      this.hours.delete(hs);
      n++;
    }
    return n;
  }

  encode(): unknown {
    const hours: unknown[] = [];
    for (const [start, h] of this.hours) hours.push(start, h.encode());
    const days: unknown[] = [];
    for (const [day, d] of this.days) days.push(day, d.encode());
    const sessions: unknown[] = [];
    for (const [sid, s] of this.sessions) sessions.push(sid, s.first, s.last, s.events, s.source);
    return [this.lines, this.unreadable, hours, sessions, days];
  }

  static decode(x: unknown, clock: LocalClock): FileAgg {
    return guarded('file aggregate', () => {
      const a = arr(x, 'file aggregate', 5);
      const f = new FileAgg(clock);
      f.lines = nat(a[0]);
      f.unreadable = nat(a[1]);
      const hours = arr(a[2], 'hours');
      for (let i = 0; i < hours.length; i += 2) f.hours.set(int(hours[i], 'hour'), Bucket.decode(hours[i + 1]));
      const days = arr(a[4], 'days');
      for (let i = 0; i < days.length; i += 2) {
        const day = str(days[i], 'day');
        if (!DAY_RE.test(day)) fail('bad day');
        f.days.set(day, Bucket.decode(days[i + 1]));
      }
      const ss = arr(a[3], 'sessions');
      if (ss.length % 5) fail('bad sessions');
      for (let i = 0; i < ss.length; i += 5) {
        f.sessions.set(str(ss[i], 'sid'), { first: int(ss[i + 1]), last: int(ss[i + 2]), events: nat(ss[i + 3]), source: str(ss[i + 4]) });
      }
      f.rememberKeys();
      return f;
    });
  }

  /** After a decode: the keys already used count against the caps, exactly as when the lines were read. */
  private rememberKeys(): void {
    const add = (dim: string, k: string): void => {
      if (k === OTHER) return;
      let set = this.kept.get(dim);
      if (!set) this.kept.set(dim, (set = new Set()));
      set.add(k);
    };
    for (const sid of this.sessions.keys()) add('sid', sid);
    for (const h of [...this.hours.values(), ...this.days.values()]) {
      for (const k of h.types.m.keys()) add('type', k);
      for (const k of h.sources.m.keys()) add('source', k);
      for (const k of h.edit.keys()) add('language', k);
      for (const k of h.ai.keys()) {
        const [p, m, , det, lang] = JSON.parse(k) as AiDims;
        add('provider', p);
        add('model', m);
        add('detection', det);
        add('language', lang);
      }
    }
  }
}
