/**
 * Streams [start, end) of an open file as line-aligned chunks through a fixed set of buffers: each
 * chunk is a buffer whose bytes [0, used) are whole lines, every one ending in \n. The partial line
 * at the end of a read moves to the front of the next buffer, so no line is ever copied on its own.
 * The next read is issued before a chunk is handed over, so reading and checking overlap.
 *
 * Buffers are larger than `maxLine` (or than the file), so every line of up to `maxLine` bytes arrives whole.
 * A longer line is skipped through in bounded memory and handed over alone (`single`) with its
 * first 256 bytes, as is an unterminated last line — the same RawLine semantics as reader.scanLines.
 */
import * as fs from 'node:fs';
import { IntegrityError, RawLine } from './reader';

export interface LineChunk {
  bytes: Uint8Array;
  /** Lines occupy [0, used). */
  used: number;
  /** File offset of bytes[0]. */
  baseOffset: number;
  /** One line that is not an ordinary complete line: `bytes` holds it (or its first 256 bytes). */
  single?: { length: number; terminated: boolean; truncated: boolean };
  /** False for a `single` chunk's own small buffer (not one of the pool's). */
  pooled: boolean;
}

export interface ChunkReadOptions {
  fd: number;
  path: string;
  /** Read from here (a line start; default 0) to `end`. */
  start?: number;
  end: number;
  maxLine: number;
  /** A free buffer from the caller's pool (all of one size, > maxLine). */
  acquire: () => Uint8Array | Promise<Uint8Array>;
  /** Gives a buffer back unused. */
  release: (b: Uint8Array) => void;
  /** Takes ownership of the chunk's buffer (pooled ones come back through the pool). */
  emit: (c: LineChunk) => void | Promise<void>;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number) => void;
}

const STUB = 256;
/** Reads of about 1 MiB: few system calls, little memory. */
export const READ_BUFFER = 1 << 20;

/**
 * Buffer size for a line cap and the largest file to read: every line up to the cap fits whole
 * (a buffer larger than the file holds any of its lines), and small files get small buffers.
 */
export function chunkBufferSize(maxLine: number, largestFile = Infinity): number {
  return Math.min(Math.max(READ_BUFFER, maxLine + 2), Math.max(64 * 1024, largestFile + 2));
}

function readAt(o: ChunkReadOptions, buf: Uint8Array, at: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(o.fd, buf, at, len, pos, (err, n) => (err ? reject(new IntegrityError('ERR_READ', `cannot read ${o.path}: ${err.message}`)) : resolve(n))),
  );
}

function lastNewline(b: Uint8Array, filled: number): number {
  for (let i = filled - 1; i >= 0; i--) if (b[i] === 10) return i;
  return -1;
}

export async function readLineChunks(o: ChunkReadOptions): Promise<void> {
  let cur = await o.acquire();
  let filled = 0;
  let base = o.start ?? 0; // file offset of cur[0]
  let pos = base; // next file offset to read
  let end = o.end;
  const fill = async (): Promise<void> => {
    const n = await readAt(o, cur, filled, Math.min(cur.length - filled, end - pos), pos);
    if (n === 0) end = pos; // shrank under us
    filled += n;
    pos += n;
    o.onProgress?.(pos);
  };
  try {
    for (;;) {
      if (o.signal?.aborted) throw new IntegrityError('ERR_CANCELLED', 'cancelled');
      if (pos < end && filled < cur.length) await fill();
      if (filled === 0) return;
      const last = lastNewline(cur, filled);
      if (last >= 0) {
        const next = await o.acquire();
        const tail = filled - last - 1;
        next.set(cur.subarray(last + 1, filled), 0);
        const len = Math.min(next.length - tail, end - pos);
        const pending = len > 0 ? readAt(o, next, tail, len, pos) : undefined;
        const chunk: LineChunk = { bytes: cur, used: last + 1, baseOffset: base, pooled: true };
        base += last + 1;
        cur = next;
        filled = tail;
        try {
          await o.emit(chunk);
        } catch (err) {
          await pending?.catch(() => undefined);
          throw err;
        }
        if (pending) {
          const n = await pending;
          if (n === 0) end = pos;
          filled += n;
          pos += n;
          o.onProgress?.(pos);
        }
        continue;
      }
      if (pos < end && filled < cur.length) continue; // a short read: read on
      if (pos >= end) {
        // The last line has no newline.
        const truncated = filled > o.maxLine;
        await o.emit({ bytes: cur.slice(0, truncated ? STUB : filled), used: truncated ? STUB : filled, baseOffset: base, single: { length: filled, terminated: false, truncated }, pooled: false });
        return;
      }
      ({ base, filled, end, pos } = await skipLongLine(o, cur, base, pos, end));
    }
  } finally {
    o.release(cur);
  }
}

/**
 * The buffer is full and holds no newline: the line is longer than the buffer, so over the cap.
 * Keeps its first 256 bytes, reads on (reusing the buffer) to its end, hands it over alone, and
 * leaves what follows it at the front of the buffer.
 */
async function skipLongLine(o: ChunkReadOptions, cur: Uint8Array, base: number, pos: number, end: number): Promise<{ base: number; filled: number; end: number; pos: number }> {
  const stub = cur.slice(0, STUB);
  let length = cur.length;
  for (;;) {
    if (o.signal?.aborted) throw new IntegrityError('ERR_CANCELLED', 'cancelled');
    const n = pos < end ? await readAt(o, cur, 0, Math.min(cur.length, end - pos), pos) : 0;
    const at = pos;
    pos += n;
    o.onProgress?.(pos);
    const nl = n > 0 ? cur.subarray(0, n).indexOf(10) : -1;
    if (nl >= 0) {
      length += nl;
      await o.emit({ bytes: stub, used: STUB, baseOffset: base, single: { length, terminated: true, truncated: true }, pooled: false });
      cur.copyWithin(0, nl + 1, n);
      return { base: at + nl + 1, filled: n - nl - 1, end, pos };
    }
    length += n;
    if (n === 0) {
      await o.emit({ bytes: stub, used: STUB, baseOffset: base, single: { length, terminated: false, truncated: true }, pooled: false });
      return { base: pos, filled: 0, end: pos, pos };
    }
  }
}

/**
 * The RawLine of bytes [s, e) of a chunk (`buf` is a Buffer view of its bytes), as scanLines would
 * hand it over: a line over `maxLine` keeps only its first 256 bytes and is marked truncated.
 */
export function rawLine(c: LineChunk, buf: Buffer, s: number, e: number, maxLine: number, line: number): RawLine {
  const single = c.single;
  const length = single ? single.length : e - s;
  const truncated = single ? single.truncated : length > maxLine;
  const bytes = buf.subarray(s, truncated && !single ? s + STUB : e);
  return { line, offset: c.baseOffset + s, bytes, terminated: single ? single.terminated : true, truncated, length };
}

/** Calls fn(s, e) for each line of the chunk: [s, e) without the newline. */
export function forEachLine(c: LineChunk, buf: Buffer, fn: (s: number, e: number) => void): void {
  if (c.single) return fn(0, c.used);
  for (let s = 0; s < c.used; ) {
    const e = buf.indexOf(10, s);
    fn(s, e);
    s = e + 1;
  }
}
