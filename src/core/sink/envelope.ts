import { randomUUID } from 'node:crypto';
import { crc32 } from './crc32';
import { sealLine } from './queue';
import { SinkError } from './errors';

/**
 * Envelope v1: one JSON object per line, members in this order,
 * {"v":1,"id":…,"ts":…,"sid":…,"seq":…,"type":…,"source":…,"data":{…},"crc":"xxxxxxxx"}
 * `crc` is the CRC-32 of the line's UTF-8 bytes without the `,"crc":"…"` member.
 */
export const ENVELOPE_VERSION = 1;
export const CRC_SUFFIX_LEN = ',"crc":"'.length + 8 + '"}'.length; // 18
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

export function newSessionId(): string {
  return randomUUID();
}

export function checkType(type: unknown): string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LEN || !TYPE_RE.test(type)) {
    throw new SinkError('ERR_INVALID_EVENT', `field "type": expected a dotted lowercase name like "editor.save", got ${short(type)}`);
  }
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

/**
 * Builds one complete line (with crc and trailing newline) from already-checked parts, sealed by
 * the same code as the appender's queue. `typeJson`/`sourceJson` are JSON string literals; `dataJson`
 * a JSON object. For tools and test fixtures; the appender encodes straight into its queue.
 */
export function buildLine(id: string, ts: string, sid: string, seq: number, typeJson: string, sourceJson: string, dataJson: string): string {
  const body = '{"v":1,"id":"' + id + '","ts":"' + ts + '","sid":"' + sid + '","seq":' + seq + ',"type":' + typeJson + ',"source":' + sourceJson + ',"data":' + dataJson;
  const n = Buffer.byteLength(body);
  const buf = Buffer.allocUnsafe(n + 20);
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
  // ,"crc":"
  if (line[s] !== 0x2c || line[s + 1] !== 0x22 || line[s + 2] !== 0x63 || line[s + 3] !== 0x72 || line[s + 4] !== 0x63 || line[s + 5] !== 0x22 || line[s + 6] !== 0x3a || line[s + 7] !== 0x22) return undefined;
  if (line[n - 2] !== 0x22 || line[n - 1] !== 0x7d) return undefined;
  let want = 0;
  for (let i = s + 8; i < s + 16; i++) {
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
