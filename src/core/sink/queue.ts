/**
 * The in-process queue: complete lines stored in reusable byte chunks. It knows nothing of the
 * format (envelope.ts writes the lines straight into the room it gives); a batch is a slice of one
 * chunk, so writing it needs no join or copy.
 */
const CHUNK = 512 * 1024;

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
  /** The chunk lines are appended to (the last one). */
  private tailChunk: Chunk | undefined;
  events = 0;
  bytes = 0;

  /**
   * Room for one line of at most `max` bytes: write it into the returned buffer from `tail`, then
   * `commit` its end. Nothing is queued until then.
   */
  reserve(max: number): Buffer {
    let c = this.tailChunk;
    if (!c || c.buf.length - c.end < max) {
      c = { buf: Buffer.allocUnsafe(Math.max(CHUNK, max)), start: 0, end: 0, ends: [], head: 0 };
      this.chunks.push(c);
      this.tailChunk = c;
    }
    return c.buf;
  }

  /** Where the next line goes in the buffer `reserve` returned. */
  get tail(): number {
    return this.tailChunk!.end;
  }

  /** Queues the line written from `tail` to `end`. Returns its size in bytes. */
  commit(end: number): number {
    const c = this.tailChunk!;
    const total = end - c.end;
    c.end = end;
    c.ends.push(end);
    this.events++;
    this.bytes += total;
    return total;
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
    this.tailChunk = undefined;
    this.events = 0;
    this.bytes = 0;
  }

  private headChunk(): Chunk | undefined {
    while (this.chunks.length > 1 && this.chunks[0]!.head === this.chunks[0]!.ends.length) this.chunks.shift();
    const c = this.chunks[0];
    return c && c.head < c.ends.length ? c : undefined;
  }
}
