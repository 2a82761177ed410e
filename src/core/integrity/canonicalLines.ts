/**
 * verify's fast path for readers other than verify (statistics, the shipper): streams a range of an
 * open file in line-aligned chunks (readLineChunks) and hands each line either to `canonical` — the
 * header scanner says it is a crc-verified canonical envelope, its fields are in `f` — or to `other`
 * as the RawLine scanLines would have handed over. `canonical` may decline a line (return false):
 * it then goes to `other` too, so a reader only takes from the bytes what it is sure of.
 * Like scanLines, it ends with the repair-epoch check: ERR_CHANGED when a repair may have moved
 * bytes while they were read.
 */
import { chunkBufferSize, LineChunk, rawLine, readLineChunks } from './chunks';
import { RawLine, throwIfChanged } from './reader';
import { epochOfFd } from './repair/epoch';
import { CanonicalFields, newCanonicalFields, scanCanonical } from './scanner';

export interface CanonicalVisitor {
  /** A crc-verified canonical line b[s, e) (no newline), `line` its number, `offset` its file offset. True = taken. */
  canonical(b: Buffer, s: number, e: number, f: CanonicalFields, line: number, offset: number): boolean;
  /** Any other line, exactly as scanLines hands it over (`bytes` valid during the call only). */
  other(l: RawLine): void;
}

export interface CanonicalReadOptions {
  fd: number;
  path: string;
  /** A line start. */
  start: number;
  end: number;
  /** Lines before `start`: lines are numbered from firstLine + 1. */
  firstLine?: number;
  /** Longer lines are handed to `other` cut (first 256 bytes, truncated). */
  maxLine: number;
  /** False: every line goes to `other` (the full path), none to the scanner. */
  fast?: boolean;
  signal?: AbortSignal;
  /** Bytes done since `start`. */
  onProgress?: (done: number) => void;
  /** Awaited after each chunk (backpressure for pipelined consumers). */
  afterChunk?: () => Promise<void> | void;
}

const fields = newCanonicalFields();

/** Reads [start, end); returns the number of lines handed over. */
export async function readCanonicalLines(o: CanonicalReadOptions, v: CanonicalVisitor): Promise<number> {
  const size = chunkBufferSize(o.maxLine, o.end - o.start);
  const free: Uint8Array[] = [];
  const first = o.firstLine ?? 0;
  let line = first;
  const fast = o.fast !== false;
  const epoch = epochOfFd(o.fd);
  const emit = async (c: LineChunk): Promise<void> => {
    try {
      const buf = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.used);
      if (c.single) v.other(rawLine(c, buf, 0, c.used, o.maxLine, ++line));
      else {
        for (let s = 0; s < c.used; ) {
          const e = buf.indexOf(10, s);
          line++;
          if (!(fast && e - s <= o.maxLine && scanCanonical(buf, s, e, fields) && v.canonical(buf, s, e, fields, line, c.baseOffset + s))) {
            v.other(rawLine(c, buf, s, e, o.maxLine, line));
          }
          s = e + 1;
        }
      }
    } finally {
      if (c.pooled) free.push(c.bytes);
    }
    // A consumer that acts between chunks must not act on lines read while a repair moved bytes.
    if (o.afterChunk) await throwIfChanged(epoch, o.afterChunk);
  };
  await readLineChunks({
    fd: o.fd,
    path: o.path,
    start: o.start,
    end: o.end,
    maxLine: o.maxLine,
    acquire: () => free.pop() ?? new Uint8Array(size),
    release: (b) => free.push(b),
    emit,
    signal: o.signal,
    onProgress: o.onProgress ? (pos) => o.onProgress!(pos - o.start) : undefined,
  });
  throwIfChanged(epoch);
  return line - first;
}

/** The minute ("YYYY-MM-DDTHH:MM", as 4 words) last converted, and Date.parse's value for it. */
const minute = new Int32Array(4);
let minuteMs = NaN;
let minuteSet = false;

/**
 * `Date.parse` of the 24 ts bytes at p of a line the scanner took (so they have the shape
 * `dddd-dd-ddTdd:dd:dd.dddZ`), without making a string per line: Date.parse judges each minute once
 * (which months, days, hours and minutes it accepts), seconds and milliseconds are added by
 * arithmetic. NaN where Date.parse gives NaN — and for hour 24, which it accepts only as 24:00:00.000.
 * `d` is a DataView over b's bytes (b.byteOffset is 0 in d).
 */
export function tsParseMs(b: Buffer, d: DataView<ArrayBufferLike>, p: number): number {
  const w0 = d.getInt32(p, true);
  const w1 = d.getInt32(p + 4, true);
  const w2 = d.getInt32(p + 8, true);
  const w3 = d.getInt32(p + 12, true);
  if (!minuteSet || w0 !== minute[0] || w1 !== minute[1] || w2 !== minute[2] || w3 !== minute[3]) {
    const hour24 = b[p + 11] === 0x32 && b[p + 12] === 0x34;
    minuteMs = hour24 ? NaN : Date.parse(b.toString('latin1', p, p + 16) + ':00.000Z');
    minute[0] = w0;
    minute[1] = w1;
    minute[2] = w2;
    minute[3] = w3;
    minuteSet = true;
  }
  const sec = (b[p + 17]! - 0x30) * 10 + b[p + 18]! - 0x30;
  if (sec > 59) return NaN;
  return minuteMs + sec * 1000 + (b[p + 20]! - 0x30) * 100 + (b[p + 21]! - 0x30) * 10 + b[p + 22]! - 0x30;
}
