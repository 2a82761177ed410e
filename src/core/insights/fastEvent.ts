/**
 * Statistics events straight from the bytes of lines verify's header scanner took (crc-verified,
 * canonical member order; see integrity/scanner.ts): the header fields come from the byte ranges it
 * found; of `data`, only the members the aggregates read (DATA_KEYS) are taken, and only for the
 * event types whose data they read at all (AI, edits, saves, session ends). Every value is what
 * JSON.parse of the whole line would give; a line this cannot be sure of (a key written with escapes,
 * a ts Date.parse reads differently) is declined and parsed in full by the caller.
 */
import { ByteInterner } from '../integrity/intern';
import { tsParseMs } from '../integrity/canonicalLines';
import { skipJsonNumber, skipJsonString, skipValue } from '../integrity/jsonScan';
import type { CanonicalFields } from '../integrity/scanner';
import { EMPTY, MAX_T, type StatsEvent } from './event';
import { DATA_KEYS, usesData } from './fileAgg';
import type { Data } from './accumulators';

/** Distinct values remembered before a table starts afresh (bounds memory with millions of sessions). */
const MAX_DISTINCT = 50_000;

/** Byte range (ASCII) → string, each distinct value made once (see ByteInterner). */
class Strings {
  private readonly interner = new ByteInterner();
  list: string[] = [];
  private map = new Map<string, number>();

  /** Call when the buffer changes; returns true when the table started afresh. */
  reset(b: Buffer): boolean {
    const fresh = this.list.length > MAX_DISTINCT;
    if (fresh) {
      this.list = [];
      this.map = new Map();
    }
    this.interner.reset(b, this.list, this.map);
    return fresh;
  }

  id(s: number, e: number): number {
    return this.interner.intern(s, e);
  }

  get(s: number, e: number): string {
    return this.list[this.interner.intern(s, e)]!;
  }
}

/** Bytes that stand for themselves in a JSON string and are ASCII: 0x20–0x7f except `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;
const KEYS_BY_LENGTH: Array<Array<{ name: string; bytes: Buffer }>> = [];
for (const name of DATA_KEYS) (KEYS_BY_LENGTH[name.length] ??= []).push({ name, bytes: Buffer.from(name, 'latin1') });

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
function ws(b: Buffer, i: number): number {
  while (isWs(b[i])) i++;
  return i;
}

/** The DATA_KEYS member named by the plain key b[s, e), or undefined. */
function keyName(b: Buffer, s: number, e: number): string | undefined {
  const cands = KEYS_BY_LENGTH[e - s];
  if (!cands) return undefined;
  for (const c of cands) {
    let k = 0;
    while (k < c.bytes.length && b[s + k] === c.bytes[k]) k++;
    if (k === c.bytes.length) return c.name;
  }
  return undefined;
}

export class FastEvents {
  /** Reused for every line: the aggregates keep none of an event's objects. */
  private readonly ev: StatsEvent = { t: 0, type: '', sid: '', source: '', data: EMPTY };
  /** The data object of the line being picked (a fresh one per line: aggregates may keep none, but it is cheap). */
  private picked: Data = EMPTY;
  private buf: Buffer | undefined;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private readonly types = new Strings();
  /** Per type id: 1 when FileAgg reads its data, 0 when not, undefined not yet known. */
  private needs: Array<number | undefined> = [];
  private readonly sids = new Strings();
  private readonly sources = new Strings();
  private readonly values = new Strings();
  /** Events made so far. */
  taken = 0;

  /** The event of the canonical line in b (fields in f), or undefined: parse the line in full instead. */
  event(b: Buffer, f: CanonicalFields): StatsEvent | undefined {
    if (b !== this.buf) {
      this.buf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (this.types.reset(b)) this.needs = [];
      this.sids.reset(b);
      this.sources.reset(b);
      this.values.reset(b);
    }
    const t = tsParseMs(b, this.dv, f.tsStart);
    if (!(t >= 0 && t <= MAX_T)) return undefined;
    const ev = this.ev;
    const ti = this.types.id(f.typeStart, f.typeEnd);
    ev.type = this.types.list[ti]!;
    let need = this.needs[ti];
    if (need === undefined) need = this.needs[ti] = usesData(ev.type) ? 1 : 0;
    if (need) {
      const d = this.pick(b, f.dataStart);
      if (!d) return undefined;
      ev.data = d;
    } else ev.data = EMPTY;
    ev.t = t;
    ev.sid = this.sids.get(f.sidStart, f.sidEnd);
    ev.source = this.sources.get(f.sourceStart, f.sourceEnd);
    this.taken++;
    return ev;
  }

  /** DATA_KEYS of the (valid, scanner-checked) JSON object at p, the last of equal keys winning. */
  private pick(b: Buffer, p: number): Data | undefined {
    const d: Data = {};
    this.picked = d;
    let i = ws(b, p + 1);
    if (b[i] === 0x7d) return d;
    for (;;) {
      let ke = i + 1;
      while (PLAIN[b[ke]!] === 1) ke++;
      let name: string | undefined;
      if (b[ke] === 0x22) name = keyName(b, i + 1, ke);
      else {
        ke = skipJsonString(b, i, b.length) - 1;
        if (b.subarray(i + 1, ke).includes(0x5c)) return undefined; // an escaped key might spell one of ours
      }
      i = ws(b, ws(b, ke + 1) + 1); // past the colon
      const e = name === undefined ? skipValue(b, i, b.length) : this.value(b, i, name);
      if (e < 0) return undefined;
      i = ws(b, e);
      if (b[i] !== 0x2c) return d;
      i = ws(b, i + 1);
    }
  }

  /** Sets picked[name] to the value at i as JSON.parse reads it; returns the value's end. */
  private value(b: Buffer, i: number, name: string): number {
    const c = b[i]!;
    let e: number;
    let v: unknown;
    if (c === 0x22) {
      e = i + 1;
      while (PLAIN[b[e]!] === 1) e++;
      if (b[e] === 0x22) v = this.values.get(i + 1, e++);
      else {
        e = skipJsonString(b, i, b.length);
        v = b.subarray(i, e).includes(0x5c) ? JSON.parse(b.toString('utf8', i, e)) : b.toString('utf8', i + 1, e - 1);
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      e = skipJsonNumber(b, i, b.length);
      v = plainInt(b, i, e) ?? Number(b.toString('latin1', i, e));
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      e = i + (c === 0x66 ? 5 : 4);
      v = c === 0x74 ? true : c === 0x66 ? false : null;
    } else {
      e = skipValue(b, i, b.length);
      if (e < 0) return -1;
      v = JSON.parse(b.toString('utf8', i, e));
    }
    this.picked[name] = v;
    return e;
  }
}

/** The value of a run of at most 15 digits (no sign, fraction or exponent), else undefined. */
function plainInt(b: Buffer, s: number, e: number): number | undefined {
  if (e - s > 15) return undefined;
  let v = 0;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    if (c < 0x30 || c > 0x39) return undefined;
    v = v * 10 + c - 0x30;
  }
  return v;
}
