/**
 * Bounded batches (rows and bytes), at most one in flight while the next one is built: the server
 * parses batch N while this process reads and classifies batch N+1. Acknowledgements are applied
 * strictly in order, so the cursor only ever moves to a position whose every row was acknowledged.
 * Memory: the batch in flight, plus the batches sealed while one read chunk was classified.
 */
import type { FileEntry } from './cursor';

/** A position in the set: everything in `entry` before `offset` is done once this is committed. */
export interface Mark {
  entry: FileEntry;
  offset: number;
  line: number;
}

export interface SealedBatch {
  rows: number;
  body?: Buffer;
  /** The last position reached in each file the batch touched (a batch may span files). */
  marks: Map<FileEntry, Mark>;
  invalid: Map<string, number>;
  lastTs?: string;
}

export interface BatchSink {
  /** Delivers the rows (retrying as it sees fit); throws when it gives up. */
  send(body: Buffer): Promise<void>;
  /** Applies an acknowledged batch: moves the cursor, writes it durably. */
  commit(b: SealedBatch): void;
}

export class Batcher {
  /** Rows are encoded into this buffer at once: a retained string per row costs V8 dearly (measured). */
  private buf = Buffer.allocUnsafe(1 << 20);
  private rows = 0;
  private bytes = 0;
  private marks = new Map<FileEntry, Mark>();
  private invalid = new Map<string, number>();
  private lastTs: string | undefined;
  private dirty = false;
  private ready: SealedBatch[] = [];
  private inflight: Promise<void> = Promise.resolve();
  private failure: { err: unknown } | undefined;

  constructor(private readonly sink: BatchSink, private readonly maxRows: number, private readonly maxBytes: number) {}

  add(row: string, mark: Mark, ts: string): void {
    const need = this.bytes + row.length * 3;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, need));
      this.buf.copy(bigger, 0, 0, this.bytes);
      this.buf = bigger;
    }
    this.bytes += this.buf.write(row, this.bytes, 'utf8');
    this.rows++;
    this.marks.set(mark.entry, mark);
    this.lastTs = ts;
    this.dirty = true;
    if (this.rows >= this.maxRows || this.bytes >= this.maxBytes) this.seal();
  }

  /** A line that is not shipped (verify's problem code): counted, and the cursor may pass it. */
  skip(code: string, mark: Mark): void {
    this.invalid.set(code, (this.invalid.get(code) ?? 0) + 1);
    this.marks.set(mark.entry, mark);
    this.dirty = true;
  }

  /** Moves the position without a row (e.g. an entry reset to 0 to be shipped again). */
  advance(mark: Mark): void {
    this.marks.set(mark.entry, mark);
    this.dirty = true;
  }

  /** Sealed batches waiting to be sent (the reader calls pump() after each chunk). */
  get waiting(): number {
    return this.ready.length;
  }

  /** Closes the batch being built (synchronously: the reader's line callback cannot wait). */
  private seal(): void {
    if (!this.dirty) return;
    this.ready.push({ rows: this.rows, body: this.rows ? this.buf.subarray(0, this.bytes) : undefined, marks: this.marks, invalid: this.invalid, lastTs: this.lastTs });
    if (this.rows) this.buf = Buffer.allocUnsafe(Math.min(this.buf.length, this.maxBytes + (1 << 20)));
    this.rows = 0;
    this.bytes = 0;
    this.marks = new Map();
    this.invalid = new Map();
    this.lastTs = undefined;
    this.dirty = false;
  }

  /** Sends the sealed batches in order, each once the one before is acknowledged; returns with the last in flight. */
  async pump(): Promise<void> {
    while (this.ready.length) {
      const b = this.ready.shift()!;
      await this.settle();
      this.inflight = this.deliver(b).catch((err: unknown) => {
        this.failure = { err };
      });
    }
  }

  /** Waits for the batch in flight; rethrows its failure. */
  async settle(): Promise<void> {
    await this.inflight;
    if (this.failure) throw this.failure.err;
  }

  /** Seals and sends everything, and waits for the last acknowledgement. */
  async flush(): Promise<void> {
    this.seal();
    await this.pump();
    await this.settle();
  }

  private async deliver(b: SealedBatch): Promise<void> {
    if (b.body) await this.sink.send(b.body);
    this.sink.commit(b);
  }
}
