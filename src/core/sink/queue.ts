import { randomFillSync } from 'node:crypto';
import { crc32 } from './crc32';

/**
 * The in-process queue: events encoded straight into reusable byte chunks, each line complete
 * with its crc and newline. A batch is a slice of one chunk, so writing it needs no join or copy.
 */
const CHUNK = 512 * 1024;
const CRC_TAIL = 19; // ,"crc":"xxxxxxxx"}\n
const HEX = Buffer.from('0123456789abcdef');
const HEAD = Buffer.from('{"v":1,"id":"');
const TS_KEY = Buffer.from('","ts":"');
const CRC_KEY = Buffer.from('"crc":"');

/**
 * Closes the line started at `off` whose text (without the closing brace) ends at `p`: the crc
 * covers it as it reads with "}" and without the crc member; then ,"crc":"…"}\n follows (19 bytes
 * plus the brace must fit). Returns the end of the line. The one place the crc tail is written.
 */
export function sealLine(buf: Buffer, off: number, p: number): number {
  buf[p++] = 0x7d;
  let crc = crc32(buf.subarray(off, p)) >>> 0;
  buf[p - 1] = 0x2c;
  buf.set(CRC_KEY, p);
  p += CRC_KEY.length;
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

interface Chunk {
  buf: Buffer;
  /** First unconsumed byte. */
  start: number;
  /** End of the filled part. */
  end: number;
  /** End offset of every line appended to this chunk. */
  ends: number[];
  /** Index in `ends` of the first unconsumed line. */
  head: number;
}

export interface Batch {
  bytes: Buffer;
  events: number;
}

export class ByteQueue {
  private chunks: Chunk[] = [];
  events = 0;
  bytes = 0;

  /**
   * Encodes one envelope v1 line straight into the chunk, crc and newline included:
   * {"v":1,"id":"<uuid v4>","ts":"<ts>" + sidSeq ("\",\"sid\":\"…\",\"seq\":") + seq + typeSource
   * (",\"type\":…,\"source\":…,\"data\":") + dataJson + ,"crc":"xxxxxxxx"}\n
   * Returns the line's size in bytes.
   */
  appendEvent(ts: Buffer, sidSeq: Buffer, seq: number, typeSource: Buffer, dataJson: string): number {
    const dlen = Buffer.byteLength(dataJson);
    const max = HEAD.length + 36 + TS_KEY.length + ts.length + sidSeq.length + 16 + typeSource.length + dlen + 1 + CRC_TAIL;
    const c = this.room(max);
    const buf = c.buf;
    const off = c.end;
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
    p += buf.write(dataJson, p, dlen, 'utf8');
    return this.seal(c, off, p);
  }

  /** Appends one envelope from its JSON text without the closing brace (used for rare, built lines). */
  appendEnvelope(body: string): number {
    const blen = Buffer.byteLength(body);
    const c = this.room(blen + CRC_TAIL);
    const buf = c.buf;
    const off = c.end;
    buf.write(body, off, blen, 'utf8');
    return this.seal(c, off, off + blen);
  }

  private seal(c: Chunk, off: number, p: number): number {
    return this.commit(c, sealLine(c.buf, off, p) - off);
  }

  private room(max: number): Chunk {
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.buf.length - c.end < max) {
      c = { buf: Buffer.allocUnsafe(Math.max(CHUNK, max)), start: 0, end: 0, ends: [], head: 0 };
      this.chunks.push(c);
    }
    return c;
  }

  private commit(c: Chunk, total: number): number {
    c.end += total;
    c.ends.push(c.end);
    this.events++;
    this.bytes += total;
    return total;
  }

  /** Size of the first queued line, or 0 when empty. */
  firstLineBytes(): number {
    const c = this.headChunk();
    return c ? c.ends[c.head]! - c.start : 0;
  }

  /**
   * Whole lines from the head, at most `maxEvents` and `maxBytes` (but one line even if larger,
   * when `atLeastOne`). Never spans chunks. Does not consume.
   */
  peek(maxEvents: number, maxBytes: number, atLeastOne: boolean): Batch | null {
    const c = this.headChunk();
    if (!c) return null;
    let n = 0;
    let endOff = c.start;
    const ends = c.ends;
    for (let i = c.head; i < ends.length && n < maxEvents; i++) {
      const e = ends[i]!;
      if (e - c.start > maxBytes && !(n === 0 && atLeastOne)) break;
      endOff = e;
      n++;
    }
    return n === 0 ? null : { bytes: c.buf.subarray(c.start, endOff), events: n };
  }

  /** Drops the `events` lines that the last peek returned. */
  consume(events: number): void {
    const c = this.headChunk()!;
    const newStart = c.ends[c.head + events - 1]!;
    this.bytes -= newStart - c.start;
    this.events -= events;
    c.head += events;
    c.start = newStart;
    if (c.head === c.ends.length) {
      if (this.chunks.length > 1) this.chunks.shift();
      else {
        c.start = c.end = c.head = 0;
        c.ends = [];
      }
    }
  }

  clear(): void {
    this.chunks = [];
    this.events = 0;
    this.bytes = 0;
  }

  private headChunk(): Chunk | undefined {
    while (this.chunks.length > 1 && this.chunks[0]!.head === this.chunks[0]!.ends.length) this.chunks.shift();
    const c = this.chunks[0];
    return c && c.head < c.ends.length ? c : undefined;
  }
}
