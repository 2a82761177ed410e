import { randomFillSync, randomUUID } from 'node:crypto';
import { crc32 } from './crc32';
import { SinkError } from './errors';

/**
 * Envelope v1, the file format, in one place: one JSON object per line, members in this order,
 * {"v":1,"id":…,"ts":…,"sid":…,"seq":…,"type":…,"source":…,"data":{…},"crc":"xxxxxxxx"}\n
 * `crc` is the CRC-32 of the line's UTF-8 bytes as they read without the `,"crc":"…"` member.
 * Everything that writes a line (the appender's encoder, the drop notice, buildLine for tools and
 * tests) goes through writeEventLine / sealLine below; the queue only stores the bytes.
 */
export const TYPE_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
export const SOURCE_RE = /^(vscode|cli|http|api:[A-Za-z0-9._-]+)$/;
export const MAX_TYPE_LEN = 128;
/**
 * The one line cap: a line's bytes without its `\n`. The writer refuses an event whose line would be
 * longer, verify calls a longer line `too_long`, and `record` refuses a longer input line.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

export interface EnvelopeV1 {
  v: 1;
  id: string;
  ts: string;
  sid: string;
  seq: number;
  type: string;
  source: string;
  data: Record<string, unknown>;
  crc?: string;
}

// The text between the member values, in member order: written here once, used by every writer.
const M_ID = '{"v":1,"id":"';
const M_TS = '","ts":"';
const M_SID = '","sid":"';
const M_SEQ = '","seq":';
const M_TYPE = ',"type":';
const M_SOURCE = ',"source":';
const M_DATA = ',"data":';
const HEAD = Buffer.from(M_ID);
const UUID_LEN = 36;
const TS_KEY = Buffer.from(M_TS);
const CRC_KEY = Buffer.from(',"crc":"');
const HEX = Buffer.from('0123456789abcdef');
/** The line's tail `,"crc":"xxxxxxxx"}` (18 bytes), without the newline. */
export const CRC_SUFFIX_LEN = CRC_KEY.length + 8 + '"}'.length;
/** Bytes of an event line besides ts, the sid/seq part, seq's digits, the type/source part and data. */
export const EVENT_FIXED_BYTES = HEAD.length + UUID_LEN + TS_KEY.length + CRC_SUFFIX_LEN;
/** Room an event line can need at most: its parts, the longest seq, the crc tail and the newline. */
export function eventLineRoom(tsLen: number, sidSeqLen: number, typeSourceLen: number, dataBytes: number): number {
  return EVENT_FIXED_BYTES + tsLen + sidSeqLen + 16 + typeSourceLen + dataBytes + 1;
}

export function newSessionId(): string {
  return randomUUID();
}

/** A dotted lowercase name of at most MAX_TYPE_LEN characters (the schema's `type` rule). */
export function isEventType(type: unknown): type is string {
  return typeof type === 'string' && type.length > 0 && type.length <= MAX_TYPE_LEN && TYPE_RE.test(type);
}

/** The message every door gives for a bad `type`. */
export function badTypeMessage(type: unknown): string {
  return `field "type": expected a dotted lowercase name like "editor.save", got ${short(type)}`;
}

export function checkType(type: unknown): string {
  if (!isEventType(type)) throw new SinkError('ERR_INVALID_EVENT', badTypeMessage(type));
  return type;
}

export function checkSource(source: unknown): string {
  if (typeof source !== 'string' || !SOURCE_RE.test(source)) {
    throw new SinkError('ERR_INVALID_EVENT', `field "source": expected vscode, cli, http or api:<extension id>, got ${short(source)}`);
  }
  return source;
}

/** Serializes `data` once; throws ERR_INVALID_EVENT naming the field when it cannot be a JSON object. */
export function serializeData(data: unknown): string {
  if (data === undefined) return '{}';
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SinkError('ERR_INVALID_EVENT', `field "data": expected an object, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (err) {
    throw new SinkError('ERR_INVALID_EVENT', `field "data": not serializable as JSON (${(err as Error).message})`, err);
  }
  if (json === undefined || json[0] !== '{') {
    throw new SinkError('ERR_INVALID_EVENT', 'field "data": not serializable as a JSON object');
  }
  return json;
}

let lastMs = -1;
let lastIso = '';
/** ISO-8601 UTC with milliseconds, cached per millisecond (the hot path records many events per ms). */
export function isoNow(now = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** `","sid":"<sid>","seq":` — the bytes between ts and seq (sid is checked: nothing to escape). */
export function sidSeqPart(sid: string): Buffer {
  return Buffer.from(M_SID + sid + M_SEQ, 'latin1');
}

/** `,"type":"<type>","source":<sourceJson>,"data":` — the bytes between seq and data. */
export function typeSourcePart(type: string, sourceJson: string): Buffer {
  return Buffer.from(M_TYPE + '"' + type + '"' + M_SOURCE + sourceJson + M_DATA, 'utf8');
}

/**
 * Writes one complete event line at `off` (room: eventLineRoom): a fresh uuid v4, the parts in
 * member order, `dataJson` (`dataBytes` UTF-8 bytes), the crc tail and the newline. Returns its end.
 */
export function writeEventLine(buf: Buffer, off: number, ts: Buffer, sidSeq: Buffer, seq: number, typeSource: Buffer, dataJson: string, dataBytes: number): number {
  let p = off;
  buf.set(HEAD, p);
  p = writeUuidV4(buf, p + HEAD.length);
  buf.set(TS_KEY, p);
  p += TS_KEY.length;
  buf.set(ts, p);
  p += ts.length;
  buf.set(sidSeq, p);
  p += sidSeq.length;
  p += buf.write(String(seq), p, 'latin1');
  buf.set(typeSource, p);
  p += typeSource.length;
  p += buf.write(dataJson, p, dataBytes, 'utf8');
  return sealLine(buf, off, p);
}

/**
 * Closes the line started at `off` whose text (without the closing brace) ends at `p`: the crc
 * covers it as it reads with "}" and without the crc member; then ,"crc":"…"}\n follows
 * (CRC_SUFFIX_LEN + 1 bytes from `p` must fit). Returns the end of the line. The one place the crc
 * tail is written.
 */
export function sealLine(buf: Buffer, off: number, p: number): number {
  buf[p++] = 0x7d;
  let crc = crc32(buf.subarray(off, p)) >>> 0;
  buf.set(CRC_KEY, p - 1); // its comma replaces the brace the crc was taken with
  p += CRC_KEY.length - 1;
  for (let k = 7; k >= 0; k--) {
    buf[p + k] = HEX[crc & 15]!;
    crc >>>= 4;
  }
  p += 8;
  buf[p++] = 0x22;
  buf[p++] = 0x7d;
  buf[p++] = 0x0a;
  return p;
}

/** Random bytes for ids, drawn 4 KiB at a time. */
const pool = Buffer.allocUnsafe(4096);
let poolPos = pool.length;

/** Writes a random UUID v4 (36 ASCII bytes) at p; returns the new position. */
export function writeUuidV4(buf: Buffer, p: number): number {
  if (poolPos + 16 > pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  for (let i = 0; i < 16; i++) {
    let b = pool[poolPos + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40;
    else if (i === 8) b = (b & 0x3f) | 0x80;
    if (i === 4 || i === 6 || i === 8 || i === 10) buf[p++] = 0x2d;
    buf[p++] = HEX[b >>> 4]!;
    buf[p++] = HEX[b & 15]!;
  }
  poolPos += 16;
  return p;
}

/** A run of seqs a sink had to drop, as its `sink.dropped` notice reports it. */
export interface DropRange {
  from: number;
  to: number;
  count: number;
  reasons: Record<string, number>;
  firstTs: string;
  lastTs: string;
}

/** The `data` of a `sink.dropped` event (verify reads from_seq / to_seq to tell dropped from lost). */
export function dropNoticeData(d: DropRange): Record<string, unknown> {
  return { from_seq: d.from, to_seq: d.to, count: d.count, reasons: d.reasons, first_ts: d.firstTs, last_ts: d.lastTs };
}

/**
 * Builds one complete line (with crc and trailing newline) from parts, sealed by the appender's own
 * sealLine. `typeJson`/`sourceJson` are JSON string literals (unchecked: fixtures build bad lines
 * too); `dataJson` a JSON object; `id` any string without characters JSON escapes. For tools and tests.
 */
export function buildLine(id: string, ts: string, sid: string, seq: number, typeJson: string, sourceJson: string, dataJson: string): string {
  const body = M_ID + id + M_TS + ts + M_SID + sid + M_SEQ + seq + M_TYPE + typeJson + M_SOURCE + sourceJson + M_DATA + dataJson;
  const n = Buffer.byteLength(body);
  const buf = Buffer.allocUnsafe(n + CRC_SUFFIX_LEN + 1);
  buf.write(body, 0, n, 'utf8');
  return buf.toString('utf8', 0, sealLine(buf, 0, n));
}

/**
 * Checks the crc of one line (without its newline). Returns undefined when the line carries no
 * crc tail, true/false otherwise. `line` holds UTF-8 bytes.
 */
export function checkLineCrc(line: Uint8Array): boolean | undefined {
  const n = line.length;
  if (n < CRC_SUFFIX_LEN + 2) return undefined;
  const s = n - CRC_SUFFIX_LEN;
  for (let i = 0; i < CRC_KEY.length; i++) if (line[s + i] !== CRC_KEY[i]) return undefined;
  if (line[n - 2] !== 0x22 || line[n - 1] !== 0x7d) return undefined;
  let want = 0;
  for (let i = s + CRC_KEY.length; i < s + CRC_KEY.length + 8; i++) {
    const ch = line[i]!;
    let d: number;
    if (ch >= 0x30 && ch <= 0x39) d = ch - 0x30;
    else if (ch >= 0x61 && ch <= 0x66) d = ch - 0x57;
    else return false;
    want = want * 16 + d;
  }
  const got = crc32(CLOSE_BRACE, crc32(line.subarray(0, s)));
  return got === want;
}
const CLOSE_BRACE = Buffer.from('}');

function short(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
