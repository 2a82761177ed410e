import { performance } from 'node:perf_hooks';
import { SinkError } from './errors';
import { ByteQueue } from './queue';
import type { LockBackend } from './locks';
import { statsForEvents } from '../privacy';
import { SinkConfig, sinkConfig, SinkOptions } from './options';
import { Encoded, EventEncoder } from './encoder';
import { Intake } from './intake';
import { LiveFile } from './liveFile';
import { BatchWriter } from './batchWriter';
import { asSinkError, Faults, SinkStats, snapshotStats } from './sinkStats';

export type { FsyncPolicy, LogLevel, RotationOptions, SinkOptions } from './options';
export type { SinkStats } from './sinkStats';

export interface FlushResult {
  written: number;
  batches: number;
  /** Events still queued when this flush ended. */
  pending: number;
  error?: SinkError;
}

export interface CloseOptions {
  /** Record `session.end` (with these fields and this sink's stats) before closing. */
  sessionEnd?: boolean | Record<string, unknown>;
  /** How long to keep retrying a busy lock or a failing disk (default: twice the lock timeout; closeSync: once). */
  timeoutMs?: number;
}

/**
 * The locked appender's front door. Its parts: options.ts (defaults), encoder.ts (checks an event
 * and writes its line, envelope.ts's format, into the queue), intake.ts (seqs, queue bounds, and
 * with drops.ts the drop accounting), liveFile.ts (the fd and the cross-process lock),
 * batchWriter.ts (fence, write, fsync, rotate under the lock), sinkStats.ts (faults and figures).
 *
 * record() is O(1), never does I/O and never throws on I/O (it throws ERR_INVALID_EVENT on bad input).
 * flush()/close() resolve with a FlushResult that carries the error, if any; they never reject on I/O.
 */
export class Sink {
  readonly file: string;
  readonly sid: string;
  readonly backend: LockBackend;
  readonly backendReason: string;
  private readonly o: SinkConfig;
  private readonly queue = new ByteQueue();
  private readonly encoder: EventEncoder;
  private readonly intake: Intake;
  private readonly faults: Faults;
  private readonly live: LiveFile;
  private readonly writer: BatchWriter;
  private closed = false;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private queuedFlush: Promise<FlushResult> | null = null;

  /** Opens (creating 0600 in a 0700 folder) the file and picks the lock backend. Throws SinkError. */
  constructor(opts: SinkOptions = {}) {
    const o = (this.o = sinkConfig(opts));
    this.file = o.file;
    this.sid = o.sid;
    this.encoder = new EventEncoder(o.sid, o.source, o.maxEventBytes);
    this.intake = new Intake(this.queue, this.encoder, o, o.log);
    this.faults = new Faults(o.log);
    const fault = (e: SinkError): SinkError => this.faults.report(e);
    this.live = new LiveFile(o, { fault, queued: () => this.queue.events });
    this.backend = this.live.backend;
    this.backendReason = this.live.backendReason;
    this.writer = new BatchWriter(this.live, this.queue, o, fault);
  }

  /** Registers a listener for I/O faults (lock timeouts, write/fsync errors). Returns an unsubscribe. */
  onFault(listener: (err: SinkError) => void): () => void {
    return this.faults.listen(listener);
  }

  get queuedEvents(): number {
    return this.queue.events;
  }

  /**
   * Queues one event. Returns its seq, or -1 when it was dropped (queue full, sink closed).
   * Throws ERR_INVALID_EVENT (naming the field) on bad input; never throws on I/O.
   * `at` (ms since the epoch; default now) is its ts, for events held until the sink was made.
   */
  record(type: string, data?: unknown, source?: string, at?: number): number {
    return this.enqueue(this.encoder.encode(type, data, source, this.intake.seqHint(0), undefined, at));
  }

  /**
   * Queues a batch all or nothing: every event is checked and serialized before any is queued (an
   * invalid one throws ERR_INVALID_EVENT naming its index, and nothing is queued), and when the
   * queue cannot take them all nothing is queued or counted as dropped (returns null).
   */
  recordAll(events: ReadonlyArray<{ type: string; data?: unknown }>, source?: string): number[] | null {
    const encoded = events.map((e, i) => {
      try {
        return this.encoder.encode(e.type, e.data, source, this.intake.seqHint(i));
      } catch (err) {
        throw err instanceof SinkError ? new SinkError(err.code, `event ${i}: ${err.message}`) : err;
      }
    });
    if (this.closed || this.closing || !this.intake.fitsAll(encoded)) return null;
    return encoded.map((e) => this.enqueue(e));
  }

  private enqueue(e: Encoded): number {
    if (this.closed || this.closing) {
      this.intake.drops.count(this.closed ? 'closed' : 'closing'); // no seq: nothing more can be written to account for it
      return -1;
    }
    const seq = this.intake.add(e);
    if (seq >= 0) this.schedule();
    return seq;
  }

  /** A flush at once when enough is queued (or fsync is always), else after the interval. */
  private schedule(): void {
    if (this.o.flushAtBytes > 0 && this.queue.bytes < this.o.flushAtBytes) return this.flushLater(this.o.flushIntervalMs);
    this.immediate ??= setImmediate(() => {
      this.immediate = null;
      void this.flush();
    });
  }

  private flushLater(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref?.();
  }

  /** Writes everything queued before this call. Never rejects. */
  flush(): Promise<FlushResult> {
    if (this.queuedFlush) return this.queuedFlush;
    const p = this.running.then(() => {
      this.queuedFlush = null;
      return this.drainAsync();
    });
    this.queuedFlush = p;
    this.running = p;
    return p;
  }

  private async drainAsync(): Promise<FlushResult> {
    const res: FlushResult = { written: 0, batches: 0, pending: 0 };
    while (this.queue.events > 0 && !this.closed) {
      const lock = this.live.acquire(this.o.lockTimeoutMs);
      if (!this.writeLocked(lock instanceof Promise ? await lock : lock, res)) break;
    }
    this.afterDrain(res);
    return res;
  }

  /** Synchronous drain blocking between lock attempts; for process exit and CLI tools only. */
  flushSync(timeoutMs = this.o.lockTimeoutMs): FlushResult {
    const res: FlushResult = { written: 0, batches: 0, pending: 0 };
    // A pending drop notice joins the queue once there is room: written in the same drain, so
    // closeSync never leaves the dropped seqs without their notice (verify would call them lost).
    while (!this.closed && (this.queue.events > 0 || this.intake.noticeIfRoom())) {
      if (!this.writeLocked(this.live.acquireSync(timeoutMs), res)) break;
    }
    this.afterDrain(res);
    return res;
  }

  /** After an acquisition: write under the lock, or record why not. False ends the drain. */
  private writeLocked(lockErr: SinkError | undefined, res: FlushResult): boolean {
    const err = lockErr ?? this.writer.writeHeld(res);
    if (!err) return true;
    res.error = this.faults.report(err);
    return false;
  }

  private afterDrain(res: FlushResult): void {
    if (!this.closed && this.intake.noticeIfRoom()) this.schedule();
    res.pending = this.queue.events;
    // Retry later (lock busy, disk full, …): the events stay queued within the bounds.
    if (res.pending > 0 && !this.closed && !this.closing) this.flushLater(res.error ? this.o.flushIntervalMs : 0);
  }

  /** Rotates the live file now (under the lock), whatever its size. */
  async rotateNow(): Promise<{ rotated: boolean; error?: SinkError }> {
    await this.flush();
    const err = await this.live.acquire(this.o.lockTimeoutMs);
    if (err) return { rotated: false, error: this.faults.report(err) };
    const before = this.writer.rotations;
    let error: SinkError | undefined;
    try {
      if (this.live.lockedSize > 0) this.writer.rotateHeld();
    } catch (err) {
      // The reopen after the rotation failed (EMFILE, the path replaced…): said, never thrown; the
      // next flush opens the path again.
      error = this.faults.report(asSinkError(err, 'ERR_OPEN'));
    } finally {
      this.live.release();
    }
    return { rotated: this.writer.rotations > before, ...(error ? { error } : {}) };
  }

  /**
   * Flushes what is queued (retrying a busy lock until the deadline) and closes the file.
   * With sessionEnd, records a `session.end` event carrying this sink's stats first.
   */
  async close(opts: CloseOptions = {}): Promise<FlushResult> {
    if (this.closed) return { written: 0, batches: 0, pending: 0 };
    // Flush first so the recorded stats describe everything this session wrote.
    if (opts.sessionEnd && this.queue.events > 0) await this.flush();
    this.beginClose(opts);
    const deadline = performance.now() + (opts.timeoutMs ?? this.o.lockTimeoutMs * 2);
    let res: FlushResult = { written: 0, batches: 0, pending: this.queue.events };
    let written = 0;
    while (this.queue.events > 0) {
      res = await this.flush();
      written += res.written;
      if (this.queue.events === 0 || performance.now() >= deadline) break;
      if (res.error) await new Promise((r) => setTimeout(r, Math.min(50, this.o.flushIntervalMs)));
    }
    return this.finishClose({ ...res, written });
  }

  /** Synchronous close for process exit handlers. */
  closeSync(opts: CloseOptions = {}): FlushResult {
    if (this.closed) return { written: 0, batches: 0, pending: 0 };
    this.beginClose(opts);
    return this.finishClose(this.flushSync(opts.timeoutMs ?? this.o.lockTimeoutMs));
  }

  /** The session-end logic both closes share: session.end, then no more records or timers. */
  private beginClose(opts: CloseOptions): void {
    const end = opts.sessionEnd;
    if (end) this.record('session.end', { ...(typeof end === 'object' ? end : {}), stats: statsForEvents(this.stats()) });
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private finishClose(res: FlushResult): FlushResult {
    const pending = this.queue.events;
    if (pending > 0) {
      const err = new SinkError('ERR_UNFLUSHED', `closed with ${pending} events not written to ${this.file}${res.error ? ` (${res.error.message})` : ''}`);
      res = { ...res, error: this.faults.report(err) };
      this.intake.drops.count('unflushed_at_close', pending);
    }
    this.closed = true;
    this.live.close();
    this.queue.clear();
    return { ...res, pending };
  }

  stats(): SinkStats {
    return snapshotStats({
      file: this.file,
      sid: this.sid,
      backend: this.backend,
      backendReason: this.backendReason,
      seqs: this.intake.nextSeq,
      queued: { events: this.queue.events, bytes: this.queue.bytes },
      lock: this.live,
      write: this.writer,
      drops: this.intake.drops,
      faults: this.faults,
    });
  }
}
