/**
 * Chosen members of the `data` object of a line verify's header scanner took (so the object is valid
 * JSON, see scanner.ts), read from the bytes as JSON.parse would read them: the last of equal keys
 * wins, numbers and strings exactly as JSON.parse gives them. Only the named members are made into
 * values; the rest is skipped. A key written with escapes (it might spell a wanted one) makes it
 * decline (undefined): the caller then parses the line in full. Used by statistics and the shipper.
 */
import { ByteInterner } from './intern';
import { skipJsonNumber, skipValue } from './jsonScan';

export type Picked = Record<string, unknown>;

/** Distinct values remembered before the table starts afresh (bounds memory). */
const MAX_DISTINCT = 50_000;

/** Byte range (ASCII) → string, each distinct value of a buffer made once (see ByteInterner). */
export class Strings {
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

/**
 * The end of the string at i, known valid (the scanner checked the object): the first quote not
 * escaped, found by Buffer.indexOf (native) — long texts (completion content) are skipped, not walked.
 */
function skipValidString(b: Buffer, i: number): number {
  let q = i + 1;
  for (;;) {
    q = b.indexOf(0x22, q);
    if (q < 0) return -1;
    let k = q - 1;
    while (b[k] === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    q++;
  }
}

/** The end of the (valid) value at i, or -1. */
function skipValid(b: Buffer, i: number): number {
  return b[i] === 0x22 ? skipValidString(b, i) : skipValue(b, i, b.length);
}

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
function ws(b: Buffer, i: number): number {
  while (isWs(b[i])) i++;
  return i;
}

export class DataPicker {
  private readonly byLength: Array<Array<{ name: string; bytes: Buffer }>> = [];
  private readonly values = new Strings();
  private buf: Buffer | undefined;
  private picked: Picked = {};

  constructor(keys: readonly string[]) {
    for (const name of keys) (this.byLength[name.length] ??= []).push({ name, bytes: Buffer.from(name, 'latin1') });
  }

  /** The wanted members of the object at b[p] (a fresh object each call), or undefined: parse in full. */
  pick(b: Buffer, p: number): Picked | undefined {
    if (b !== this.buf) {
      this.buf = b;
      this.values.reset(b);
    }
    const d: Picked = {};
    this.picked = d;
    let i = ws(b, p + 1);
    if (b[i] === 0x7d) return d;
    for (;;) {
      let ke = i + 1;
      while (PLAIN[b[ke]!] === 1) ke++;
      let name: string | undefined;
      if (b[ke] === 0x22) name = this.keyName(b, i + 1, ke);
      else {
        ke = skipValidString(b, i) - 1;
        if (ke < 0 || b.subarray(i + 1, ke).includes(0x5c)) return undefined; // an escaped key might spell one of ours
      }
      i = ws(b, ws(b, ke + 1) + 1); // past the colon
      const e = name === undefined ? skipValid(b, i) : this.value(b, i, name);
      if (e < 0) return undefined;
      i = ws(b, e);
      if (b[i] !== 0x2c) return d;
      i = ws(b, i + 1);
    }
  }

  /** The wanted key named by the plain key b[s, e), or undefined. */
  private keyName(b: Buffer, s: number, e: number): string | undefined {
    const cands = this.byLength[e - s];
    if (!cands) return undefined;
    for (const c of cands) {
      let k = 0;
      while (k < c.bytes.length && b[s + k] === c.bytes[k]) k++;
      if (k === c.bytes.length) return c.name;
    }
    return undefined;
  }

  /** Sets picked[name] to the value at i as JSON.parse reads it; returns the value's end (-1: unsure). */
  private value(b: Buffer, i: number, name: string): number {
    const c = b[i]!;
    let e: number;
    let v: unknown;
    if (c === 0x22) {
      e = i + 1;
      while (PLAIN[b[e]!] === 1) e++;
      if (b[e] === 0x22) v = this.values.get(i + 1, e++);
      else {
        e = skipValidString(b, i);
        if (e < 0) return -1;
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
