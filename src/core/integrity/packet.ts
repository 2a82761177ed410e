/**
 * Verify's unit of work: a packet of whole lines (one chunk of the reader's buffer pool, never a
 * per-line copy) classified into compact arrays. The same function runs in worker threads and
 * in-process, so both report the same thing. Default mode: each line goes through the fast scanner
 * first and only lines it is unsure about are parsed (classifyLine); deep mode parses every line.
 */
import { classifyLine, excerpt, LineProblem, Verdict } from './classify';
import { fingerprint } from './idset';
import { forEachLine, rawLine } from './chunks';
import { bytesEqual, asciiBytes, CanonicalFields, fingerprintAt, newCanonicalFields, scanCanonical, tsMsAt } from './scanner';
import { ByteInterner } from './intern';
import { member, memberOf } from './jsonScan';

export interface Packet {
  seq: number;
  file: number;
  bytes: Uint8Array;
  /** Whole lines in [0, used), each ending in \n — or one `single` line. */
  used: number;
  baseOffset: number;
  single?: { length: number; terminated: boolean; truncated: boolean };
  pooled: boolean;
  maxLine: number;
  deep: boolean;
}

/** Per-line flags of a PacketResult: an envelope was read; it carries no crc. */
export const F_ENV = 1;
export const F_NO_CRC = 4;

export interface PacketResult {
  seq: number;
  /** Lines in the packet, and how many of them the fast scanner took. */
  n: number;
  fast: number;
  flags: Uint8Array;
  sseq: Float64Array;
  sid: Uint32Array;
  type: Uint32Array;
  ts: Float64Array;
  fp: Float64Array;
  offset: Float64Array;
  sids: string[];
  types: string[];
  problems: Array<{ i: number; code: LineProblem; message: string; excerpt: string }>;
  /** sink.dropped lines, fields as read (NaN when not a number). */
  notices: Array<{ i: number; from: number; to: number; count: number; source: string }>;
  /** session.start lines' lock backends. */
  backends: string[];
}

const DROPPED = asciiBytes('sink.dropped');
const START = asciiBytes('session.start');
const LOCK_BACKEND = asciiBytes('lock_backend');
const FROM_SEQ = asciiBytes('from_seq');
const TO_SEQ = asciiBytes('to_seq');
const COUNT = asciiBytes('count');

/** Per-line arrays, grown (doubled) as needed and reused in-process. */
function emptyResult(seq: number, cap: number, into?: PacketResult): PacketResult {
  const fits = into !== undefined && into.flags.length >= cap;
  return {
    seq,
    n: 0,
    fast: 0,
    flags: fits ? into.flags : new Uint8Array(cap),
    sseq: fits ? into.sseq : new Float64Array(cap),
    sid: fits ? into.sid : new Uint32Array(cap),
    type: fits ? into.type : new Uint32Array(cap),
    ts: fits ? into.ts : new Float64Array(cap),
    fp: fits ? into.fp : new Float64Array(cap),
    offset: fits ? into.offset : new Float64Array(cap),
    sids: [],
    types: [],
    problems: [],
    notices: [],
    backends: [],
  };
}

/** ts "YYYY-MM-DDTHH:MM:SS.mmmZ" (schema-checked) → ms, without Date parsing. */
function tsMs(s: string): number {
  return tsMsAt(Buffer.from(s, 'latin1'), 0);
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** Classifies a packet; with `into` (in-process), its arrays are reused when large enough. */
export function classifyPacket(p: Packet, into?: PacketResult): PacketResult {
  const c = new Classifier(p, into);
  if (p.deep || p.single) {
    forEachLine(p, c.buf, (s, e) => c.slow(s, e));
    return c.r;
  }
  // The hot loop, without a callback per line.
  const b = c.buf;
  for (let s = 0; s < p.used; ) {
    const e = b.indexOf(10, s);
    if (e - s > p.maxLine || !c.fast(s, e)) c.slow(s, e);
    s = e + 1;
  }
  return c.r;
}

const fields = newCanonicalFields();
const sidIntern = new ByteInterner();
const typeIntern = new ByteInterner();

class Classifier {
  readonly buf: Buffer;
  r: PacketResult;
  private readonly sidIdx = new Map<string, number>();
  private readonly typeIdx = new Map<string, number>();

  constructor(private readonly p: Packet, into?: PacketResult) {
    this.buf = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.used);
    this.r = emptyResult(p.seq, p.single ? 1 : Math.max(64, Math.min(p.used >> 6, 1 << 16)), into);
    sidIntern.reset(this.buf, this.r.sids, this.sidIdx);
    typeIntern.reset(this.buf, this.r.types, this.typeIdx);
  }

  /** Starts line i at byte s; returns its index. */
  private next(s: number): number {
    const r = this.r;
    if (r.n === r.flags.length) this.r = grow(r);
    const i = this.r.n++;
    this.r.offset[i] = this.p.baseOffset + s;
    this.r.flags[i] = 0;
    return i;
  }

  /** The fast scanner: true when it took the line (a canonical, crc-verified line). */
  fast(s: number, e: number): boolean {
    const b = this.buf;
    const f: CanonicalFields = fields;
    if (!scanCanonical(b, s, e, f)) return false;
    // Bookkeeping types carry data verify reads: their members are picked out of the data bytes.
    const special = bytesEqual(b, f.typeStart, f.typeEnd, DROPPED) ? 1 : bytesEqual(b, f.typeStart, f.typeEnd, START) ? 2 : 0;
    if (special && !this.bookkeeping(special, b, f)) return false;
    const i = this.next(s);
    if (special === 1) this.r.notices[this.r.notices.length - 1]!.i = i;
    const r = this.r;
    r.flags[i] = F_ENV;
    r.sid[i] = sidIntern.intern(f.sidStart, f.sidEnd);
    r.type[i] = typeIntern.intern(f.typeStart, f.typeEnd);
    r.sseq[i] = f.seq;
    r.ts[i] = f.ts;
    r.fp[i] = fingerprintAt(b, f.idStart, f.idEnd);
    r.fast++;
    return true;
  }

  /**
   * sink.dropped (1) or session.start (2) on the fast path: reads the members verify needs as
   * JSON.parse would; false (unsure, e.g. an escaped key) sends the line to the full path.
   */
  private bookkeeping(kind: number, b: Buffer, f: CanonicalFields): boolean {
    const get = (key: Uint8Array): string | null | undefined => {
      const m = memberOf(b, f.dataStart, f.dataEnd, key);
      return m === undefined ? undefined : m ? b.toString('utf8', member.start, member.end) : null;
    };
    if (kind === 2) {
      const v = get(LOCK_BACKEND);
      if (v === undefined) return false;
      if (v !== null && v.charCodeAt(0) === 0x22) this.r.backends.push(JSON.parse(v) as string);
      return true;
    }
    const from = get(FROM_SEQ);
    const to = get(TO_SEQ);
    const count = get(COUNT);
    if (from === undefined || to === undefined || count === undefined) return false;
    const n = (v: string | null): number => (v === null || !/^-?\d/.test(v) ? NaN : Number(v));
    this.r.notices.push({ i: -1, from: n(from), to: n(to), count: n(count), source: b.toString('latin1', f.sourceStart, f.sourceEnd) });
    return true;
  }

  /** The full path: classifyLine, exactly as verify always read a line. */
  slow(s: number, e: number): void {
    const i = this.next(s);
    const l = rawLine(this.p, this.buf, s, e, this.p.maxLine, i);
    const v = classifyLine(l, this.p.maxLine);
    if (v.problem) this.r.problems.push({ i, code: v.problem, message: v.message ?? v.problem, excerpt: excerpt(l.bytes) });
    if (v.env) this.envelope(i, v);
  }

  private envelope(i: number, v: Verdict): void {
    const env = v.env!;
    const r = this.r;
    r.flags[i] = F_ENV | (v.crc === undefined ? F_NO_CRC : 0);
    r.sid[i] = index(env.sid, r.sids, this.sidIdx);
    r.type[i] = index(env.type, r.types, this.typeIdx);
    r.sseq[i] = env.seq;
    r.ts[i] = tsMs(env.ts);
    r.fp[i] = fingerprint(env.id);
    if (env.type === 'sink.dropped') {
      const d = env.data;
      r.notices.push({ i, from: num(d.from_seq), to: num(d.to_seq), count: num(d.count), source: env.source });
    } else if (env.type === 'session.start' && typeof env.data.lock_backend === 'string') r.backends.push(env.data.lock_backend);
  }
}

function index(s: string, list: string[], map: Map<string, number>): number {
  let k = map.get(s);
  if (k === undefined) {
    k = list.length;
    list.push(s);
    map.set(s, k);
  }
  return k;
}

function grow(r: PacketResult): PacketResult {
  const cap = r.flags.length * 2;
  const g = <T extends Uint8Array | Uint32Array | Float64Array>(a: T, mk: new (n: number) => T): T => {
    const x = new mk(cap);
    x.set(a);
    return x;
  };
  return { ...r, flags: g(r.flags, Uint8Array), sseq: g(r.sseq, Float64Array), sid: g(r.sid, Uint32Array), type: g(r.type, Uint32Array), ts: g(r.ts, Float64Array), fp: g(r.fp, Float64Array), offset: g(r.offset, Float64Array) };
}

/** Objects to transfer (not copy) when posting a result back. */
export function resultTransfer(r: PacketResult): ArrayBuffer[] {
  return [r.flags.buffer, r.sseq.buffer, r.sid.buffer, r.type.buffer, r.ts.buffer, r.fp.buffer, r.offset.buffer] as ArrayBuffer[];
}

export function packetTransfer(p: Packet): ArrayBuffer[] {
  return [p.bytes.buffer as ArrayBuffer];
}
