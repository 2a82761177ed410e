/**
 * The fast header scanner: reads a canonical envelope-v1 line straight from bytes, without
 * JSON.parse, ajv or any per-line allocation, and says whether the full path (classifyLine) would
 * call it valid with a matching crc. It only ever answers "valid, with these fields" or "not sure":
 * every line it is unsure about (no crc, crc mismatch, other member order, escapes in the header,
 * unusual numbers, …) goes to the full path, so problem codes and messages never depend on it.
 *
 * Canonical means the exact bytes the sink writes:
 *   {"v":1,"id":"…","ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","sid":"…","seq":N,"type":"…","source":"…","data":{…},"crc":"xxxxxxxx"}
 * Reusable by any reader of the file (stats, shippers): see `scanCanonical` and the helpers below.
 */
import { CRC_SUFFIX_LEN } from '../sink/envelope';
import { skipJsonObject } from './jsonScan';

/** Positions (absolute, into the buffer given) and values of one canonical line. Reused, never reallocated. */
export interface CanonicalFields {
  idStart: number;
  idEnd: number;
  /** Start of the 24 ts bytes (`YYYY-MM-DDTHH:MM:SS.mmmZ`), and their value in ms since the epoch. */
  tsStart: number;
  ts: number;
  sidStart: number;
  sidEnd: number;
  seq: number;
  typeStart: number;
  typeEnd: number;
  sourceStart: number;
  sourceEnd: number;
  /** The data object, `{` to `}` inclusive: [dataStart, dataEnd). */
  dataStart: number;
  dataEnd: number;
}

export function newCanonicalFields(): CanonicalFields {
  return { idStart: 0, idEnd: 0, tsStart: 0, ts: 0, sidStart: 0, sidEnd: 0, seq: 0, typeStart: 0, typeEnd: 0, sourceStart: 0, sourceEnd: 0, dataStart: 0, dataEnd: 0 };
}

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A literal compared 4 bytes at a time (little-endian words, the last one overlapping if needed). */
interface Lit {
  len: number;
  at: number[];
  w: number[];
}
function lit(s: string): Lit {
  const b = Buffer.from(s, 'latin1');
  const at: number[] = [];
  for (let k = 0; k + 4 <= b.length; k += 4) at.push(k);
  if (b.length % 4) at.push(b.length - 4);
  return { len: b.length, at, w: at.map((k) => b.readInt32LE(k)) };
}
const HEAD = lit('{"v":1,"id":"');
const K_TS = lit('","ts":"');
const K_SID = lit('","sid":"');
const K_SEQ = lit('","seq":');
const K_TYPE = lit(',"type":"');
const K_SOURCE = lit('","source":"');
const K_DATA = lit('","data":');
const K_CRC = lit(',"crc":"');
const S_VSCODE = lit('vscode"');
const S_HTTP = lit('http"');
const S_API = lit('api:');
const MAX_ID = 64; // schema maxLength of id and sid (ASCII here, so bytes = characters)
const MAX_TYPE = 128;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Smallest possible canonical line; anything shorter is left to the full path. */
const MIN_LINE = HEAD.len + 1 + K_TS.len + 24 + K_SID.len + 1 + K_SEQ.len + 1 + K_TYPE.len + 1 + K_SOURCE.len + 3 + K_DATA.len + 2 + CRC_SUFFIX_LEN;

/** Byte classes: 1 = id/sid byte the scanner accepts without doubt (printable ASCII except `"` and `\`). */
const ID = new Uint8Array(256);
for (let c = 0x20; c <= 0x7e; c++) ID[c] = c === 0x22 || c === 0x5c ? 0 : 1;
/** 1 = [a-z0-9_], 2 = `.` (the type pattern). */
const TYPE = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789_') TYPE[c.charCodeAt(0)] = 1;
TYPE[0x2e] = 2;
/** [A-Za-z0-9._-] after `api:`. */
const API = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-') API[c.charCodeAt(0)] = 1;
/** Hex digit values + 1 (0 = not lowercase hex). */
const HEXV = new Uint8Array(256);
for (let k = 0; k < 16; k++) HEXV['0123456789abcdef'.charCodeAt(k)] = k + 1;
/** ts shape: 0 = a digit, else that exact byte. */
const TS = enc('0000-00-00T00:00:00.000Z');

let dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let dvOf: Uint8Array | undefined;
/** A DataView over b (one per buffer, reused for every line in it). */
function view(b: Uint8Array): DataView<ArrayBufferLike> {
  if (dvOf !== b) {
    dvOf = b;
    dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return dv;
}

function eq(d: DataView<ArrayBufferLike>, p: number, l: Lit): boolean {
  for (let k = 0; k < l.at.length; k++) if (d.getInt32(p + l.at[k]!, true) !== l.w[k]) return false;
  return true;
}

/** End of an id/sid body starting at p (its closing quote), or -1. */
function idEnd(b: Uint8Array, p: number, lim: number): number {
  const stop = Math.min(lim, p + MAX_ID); // the closing quote may sit at p + MAX_ID at most
  let q = p;
  while (q < stop && ID[b[q]!] === 1) q++;
  return q > p && q < lim && b[q] === 0x22 ? q : -1;
}

/** The last ts minute ("YYYY-MM-DDTHH:MM", as 4 words) whose shape was checked, and its ms. */
let tsW0 = 0;
let tsW1 = 0;
let tsW2 = 0;
let tsW3 = 0;
let tsBase = NaN;

const digit = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : NaN);

/**
 * The ts at p in ms, or NaN when it does not have the schema's shape. Events come many per minute:
 * the minute part is checked and converted once (Date.UTC is linear in seconds and ms, so adding
 * them to the minute's value is exact).
 */
function tsValue(b: Uint8Array, d: DataView<ArrayBufferLike>, p: number): number {
  const w0 = d.getInt32(p, true);
  const w1 = d.getInt32(p + 4, true);
  const w2 = d.getInt32(p + 8, true);
  const w3 = d.getInt32(p + 12, true);
  if (w0 !== tsW0 || w1 !== tsW1 || w2 !== tsW2 || w3 !== tsW3 || Number.isNaN(tsBase)) {
    for (let i = 0; i < 16; i++) {
      const c = b[p + i]!;
      const t = TS[i]!;
      if (t === 0x30 ? c < 0x30 || c > 0x39 : c !== t) return NaN;
    }
    tsBase = Date.UTC(digitsAt(b, p, 4), digitsAt(b, p + 5, 2) - 1, digitsAt(b, p + 8, 2), digitsAt(b, p + 11, 2), digitsAt(b, p + 14, 2), 0, 0);
    [tsW0, tsW1, tsW2, tsW3] = [w0, w1, w2, w3];
  }
  if (b[p + 16] !== 0x3a || b[p + 19] !== 0x2e || b[p + 23] !== 0x5a) return NaN;
  return tsBase + (digit(b[p + 17]!) * 10 + digit(b[p + 18]!)) * 1000 + digit(b[p + 20]!) * 100 + digit(b[p + 21]!) * 10 + digit(b[p + 22]!);
}

/** `[a-z0-9_]+(\.[a-z0-9_]+)*` up to its closing quote (at most 128 bytes): the quote's index, or -1. */
function typeEnd(b: Uint8Array, p: number, lim: number): number {
  const stop = Math.min(lim, p + MAX_TYPE);
  let prev = 2;
  let q = p;
  for (; q < stop; q++) {
    const t = TYPE[b[q]!]!;
    if (t === 0 || (t === 2 && prev === 2)) break;
    prev = t;
  }
  return q > p && prev === 1 && q < lim && b[q] === 0x22 ? q : -1;
}

/** `vscode`, `cli`, `http` or `api:[A-Za-z0-9._-]+` up to its closing quote: the quote's index, or -1. */
function sourceEnd(b: Uint8Array, d: DataView<ArrayBufferLike>, p: number, lim: number): number {
  const c = b[p];
  if (c === 0x76) return p + 7 <= lim && eq(d, p, S_VSCODE) ? p + 6 : -1;
  if (c === 0x63) return p + 4 <= lim && b[p + 1] === 0x6c && b[p + 2] === 0x69 && b[p + 3] === 0x22 ? p + 3 : -1;
  if (c === 0x68) return p + 5 <= lim && eq(d, p, S_HTTP) ? p + 4 : -1;
  if (c !== 0x61 || p + 5 > lim || !eq(d, p, S_API)) return -1;
  let q = p + 4;
  while (q < lim && API[b[q]!] === 1) q++;
  return q > p + 4 && q < lim && b[q] === 0x22 ? q : -1;
}

/** The 8 lowercase hex digits at p as a number, or -1. */
function hex8(b: Uint8Array, p: number): number {
  let v = 0;
  for (let i = p; i < p + 8; i++) {
    const h = HEXV[b[i]!]!;
    if (h === 0) return -1;
    v = v * 16 + h - 1;
  }
  return v;
}

/**
 * CRC-32 (IEEE) of b[s, e) followed by one `}` byte — the text a crc tail covers — computed in
 * place, slicing-by-8 over DataView words: no view object per line and no native call, which for
 * lines of a few hundred bytes costs more than the arithmetic (measured).
 */
const T = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) for (let t = 1; t < 8; t++) T[t * 256 + n] = (T[(t - 1) * 256 + n]! >>> 8) ^ T[T[(t - 1) * 256 + n]! & 0xff]!;

export function crcWithBrace(b: Uint8Array, d: DataView<ArrayBufferLike>, s: number, e: number): number {
  let c = ~0;
  let i = s;
  for (; i + 8 <= e; i += 8) {
    const a = c ^ d.getInt32(i, true);
    const x = d.getInt32(i + 4, true);
    c = T[1792 + (a & 0xff)]! ^ T[1536 + ((a >>> 8) & 0xff)]! ^ T[1280 + ((a >>> 16) & 0xff)]! ^ T[1024 + (a >>> 24)]! ^ T[768 + (x & 0xff)]! ^ T[512 + ((x >>> 8) & 0xff)]! ^ T[256 + ((x >>> 16) & 0xff)]! ^ T[x >>> 24]!;
  }
  for (; i < e; i++) c = T[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  c = T[(c ^ 0x7d) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * True when bytes [start, end) of b (one line, without its newline) are a canonical envelope-v1
 * line with a matching crc that the full path would accept as valid: `f` then holds its fields.
 * False means "not sure": hand the line to classifyLine. Never throws; reads only [start, end).
 */
export function scanCanonical(b: Uint8Array, start: number, end: number, f: CanonicalFields): boolean {
  if (start < 0 || end > b.length || end - start < MIN_LINE) return false;
  const d = view(b);
  const tail = end - CRC_SUFFIX_LEN;
  if (!eq(d, start, HEAD) || !eq(d, tail, K_CRC) || b[end - 2] !== 0x22 || b[end - 1] !== 0x7d) return false;
  const want = hex8(b, tail + 8);
  let p = start + HEAD.len;
  let q = idEnd(b, p, tail);
  if (q < 0 || q + K_TS.len + 24 + K_SID.len > tail || !eq(d, q, K_TS)) return false;
  f.idStart = p;
  f.idEnd = q;
  p = q + K_TS.len;
  f.ts = tsValue(b, d, p);
  if (Number.isNaN(f.ts) || !eq(d, p + 24, K_SID)) return false;
  f.tsStart = p;
  p += 24 + K_SID.len;
  q = idEnd(b, p, tail);
  if (q < 0 || q + K_SEQ.len > tail || !eq(d, q, K_SEQ)) return false;
  f.sidStart = p;
  f.sidEnd = q;
  p = q + K_SEQ.len;
  q = seqEnd(b, p, tail, f);
  if (q < 0 || q + K_TYPE.len > tail || !eq(d, q, K_TYPE)) return false;
  p = q + K_TYPE.len;
  q = typeEnd(b, p, tail);
  if (q < 0 || q + K_SOURCE.len > tail || !eq(d, q, K_SOURCE)) return false;
  f.typeStart = p;
  f.typeEnd = q;
  p = q + K_SOURCE.len;
  q = sourceEnd(b, d, p, tail);
  if (q < 0 || q + K_DATA.len + 2 > tail || !eq(d, q, K_DATA)) return false;
  f.sourceStart = p;
  f.sourceEnd = q;
  p = q + K_DATA.len;
  if (want < 0 || skipJsonObject(b, p, tail) !== tail) return false;
  f.dataStart = p;
  f.dataEnd = tail;
  return crcWithBrace(b, d, start, tail) === want;
}

/** A JSON integer in canonical form (no sign, no leading zero, no fraction or exponent) and safe, into f.seq: its end, or -1. */
function seqEnd(b: Uint8Array, p: number, lim: number, f: CanonicalFields): number {
  let v = 0;
  let q = p;
  if (b[q] === 0x30) q++;
  else {
    const stop = Math.min(lim, p + 17);
    for (; q < stop; q++) {
      const c = b[q]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
  }
  const c = b[q]!;
  if (q === p || q >= lim || v > MAX_SAFE || (c >= 0x30 && c <= 0x39)) return -1;
  f.seq = v;
  return q;
}

function digitsAt(b: Uint8Array, p: number, k: number): number {
  let v = 0;
  for (let j = p; j < p + k; j++) v = v * 10 + (b[j]! - 48);
  return v;
}

/** ms since the epoch of the 24 ts bytes at p (shape already checked), as Date.UTC reads the fields. */
export function tsMsAt(b: Uint8Array, p: number): number {
  return Date.UTC(digitsAt(b, p, 4), digitsAt(b, p + 5, 2) - 1, digitsAt(b, p + 8, 2), digitsAt(b, p + 11, 2), digitsAt(b, p + 14, 2), digitsAt(b, p + 17, 2), digitsAt(b, p + 20, 3));
}

/** The same 52-bit fingerprint as idset.fingerprint(s) for the ASCII string held in b[s, e). */
export function fingerprintAt(b: Uint8Array, s: number, e: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ (e - s);
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 1048576 + ((h2 >>> 0) & 0xfffff);
}

/** True when b[s, e) holds exactly the ASCII text `lit`. */
export function bytesEqual(b: Uint8Array, s: number, e: number, lit: Uint8Array): boolean {
  if (e - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (b[s + i] !== lit[i]) return false;
  return true;
}

export const asciiBytes = enc;
