import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SinkError, errnoCode, describe } from './errors';
import { checkSource, checkType, isoNow, MAX_LINE_BYTES, newSessionId, serializeData } from './envelope';
import { ByteQueue } from './queue';
import { chooseBackend, LockBackend, LockMode, sleepSync } from './locks';
import { Histogram } from './histogram';
import { applyRetention, RetentionPolicy, rotateFile } from './rotation';
import { defaultEventsFile, ensureDir } from './paths';
import { statsForEvents } from '../privacy';
import { checkDir, LIVE_FLAGS, openRegular } from './safefs';

export type FsyncPolicy = 'never' | 'batch' | 'always';
export type LogLevel = 'info' | 'warn' | 'error';

export interface RotationOptions extends RetentionPolicy {
  /** Rotate before a batch would take the live file past this size (0 = never rotate). */
  maxBytes: number;
}

export interface SinkOptions {
  file?: string;
  /** Default `source` of events recorded without one. */
  source?: string;
  sid?: string;
  lock?: LockMode;
  lockTimeoutMs?: number;
  staleLockMs?: number;
  fsync?: FsyncPolicy;
  flushIntervalMs?: number;
  /** Queue this many bytes and a flush starts at once instead of waiting for the interval. */
  flushAtBytes?: number;
  maxBatchBytes?: number;
  maxQueueEvents?: number;
  maxQueueBytes?: number;
  /** Longest line (without its newline) an event may make; at most (and by default) MAX_LINE_BYTES. */
  maxEventBytes?: number;
  rotation?: Partial<RotationOptions>;
  log?: (level: LogLevel, message: string) => void;
  /** Test hook: replaces fs.writeSync for the data file (fault injection). */
  writeImpl?: (fd: number, buf: Buffer, offset: number, length: number) => number;
  /** Test hook: replaces fs.fsyncSync for the data file. */
  fsyncImpl?: (fd: number) => void;
  /** Measurement hook: called with every lock wait in µs (benchmarks aggregate these). */
  onLockWait?: (us: number) => void;
}

export interface FlushResult {
  written: number;
  batches: number;
  /** Events still queued when this flush ended. */
  pending: number;
  error?: SinkError;
}

export interface SinkStats {
  file: string;
  sid: string;
  backend: string;
  /** flock: who makes the flock call (fs-ext or koffi); null for the lock file. */
  lockProvider: string | null;
  backendReason: string;
  accepted: number;
  written: number;
  bytes: number;
  batches: number;
  queued: { events: number; bytes: number };
  lockWait: ReturnType<Histogram['summary']>;
  contention: number;
  lockTimeouts: number;
  tornTailsFenced: number;
  reopens: number;
  rotations: number;
  dropped: { total: number; byReason: Record<string, number> };
  errors: { total: number; byCode: Record<string, number>; last?: { code: string; sysCode?: string; message: string; at: string } };
  fsyncFailures: number;
  unsyncedEvents: number;
  writeRollbacks: number;
  staleLocksBroken: number;
  lockCompromised: number;
}

interface DropRange {
  from: number;
  to: number;
  count: number;
  reasons: Record<string, number>;
  firstTs: string;
  lastTs: string;
}

const DEFAULTS = {
  lockTimeoutMs: 5_000,
  staleLockMs: 10_000,
  flushIntervalMs: 1_000,
  flushAtBytes: 256 * 1024,
  maxBatchBytes: 1024 * 1024,
  maxHoldBytes: 1024 * 1024,
  maxQueueEvents: 50_000,
  maxQueueBytes: 16 * 1024 * 1024,
  maxEventBytes: MAX_LINE_BYTES,
};
/** Bytes of a line around its variable parts: {"v":1,"id":"<36>","ts":"<ts>  and  ,"crc":"<8>"} */
const LINE_FIXED = '{"v":1,"id":"'.length + 36 + '","ts":"'.length + ',"crc":"'.length + 8 + '"}'.length;
const NOTICE_RESERVE = 1024;
const EAGAIN_RETRIES = 8;
const NL = 0x0a;
const NL_BUF = Buffer.from('\n');

/** One event checked and serialized, not yet queued. */
interface Encoded {
  ts: string;
  typeSource: Buffer;
  dataJson: string;
  estimate: number;
}

/**
 * The locked appender. One open file description ('a+') for the file, one in-process queue,
 * batches written with one write() under the cross-process lock.
 *
 * record() is O(1), never does I/O and never throws on I/O (it throws ERR_INVALID_EVENT on bad input).
 * flush()/close() resolve with a FlushResult that carries the error, if any; they never reject on I/O.
 */
export class Sink {
  readonly file: string;
  readonly sid: string;
  readonly backend: LockBackend;
  readonly backendReason: string;
  private readonly source: string;
  private readonly sourceJson: string;
  private readonly o: typeof DEFAULTS & { fsync: FsyncPolicy };
  private readonly rotation: RotationOptions;
  private readonly log: (level: LogLevel, message: string) => void;
  private readonly writeImpl: (fd: number, buf: Buffer, offset: number, length: number) => number;
  private readonly fsyncImpl: (fd: number) => void;
  private readonly onLockWait?: (us: number) => void;

  private fd: number | null = null;
  private held = false;
  private fdIno = -1;
  private fdDev = -1;
  /** Size of the live file when the lock was taken (valid while held). */
  private lockedSize = 0;
  /** End offset of our last write: when the size still equals it, the tail is known to be \n. */
  private lastEnd = -1;
  private closed = false;
  private closing = false;
  private rotationBroken = false;

  private nextSeq = 0;
  private readonly queue = new ByteQueue();
  private readonly sidSeq: Buffer;
  private readonly typeSourceCache = new Map<string, Buffer>();
  private tsText = '';
  private tsBytes = Buffer.alloc(0);
  private drop: DropRange | null = null;

  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private queuedFlush: Promise<FlushResult> | null = null;
  private readonly faultListeners = new Set<(err: SinkError) => void>();

  private readonly st = {
    written: 0,
    bytes: 0,
    batches: 0,
    contention: 0,
    lockTimeouts: 0,
    tornTailsFenced: 0,
    reopens: 0,
    rotations: 0,
    droppedTotal: 0,
    droppedWithSeq: 0,
    dropped: {} as Record<string, number>,
    errorsTotal: 0,
    errors: {} as Record<string, number>,
    lastError: undefined as SinkStats['errors']['last'],
    fsyncFailures: 0,
    unsyncedEvents: 0,
    writeRollbacks: 0,
  };
  private readonly lockWait = new Histogram();

  /** Opens (creating 0600 in a 0700 folder) the file and picks the lock backend. Throws SinkError. */
  constructor(opts: SinkOptions = {}) {
    this.file = path.resolve(opts.file ?? defaultEventsFile());
    this.sid = opts.sid ?? newSessionId();
    if (!/^[A-Za-z0-9._:-]{1,64}$/.test(this.sid)) throw new SinkError('ERR_INVALID_EVENT', 'field "sid": 1-64 characters of A-Z a-z 0-9 . _ : -');
    this.sidSeq = Buffer.from('","sid":"' + this.sid + '","seq":');
    this.source = checkSource(opts.source ?? 'cli');
    this.sourceJson = JSON.stringify(this.source);
    this.log = opts.log ?? (() => undefined);
    const fsync = opts.fsync ?? 'never';
    this.o = {
      lockTimeoutMs: posInt(opts.lockTimeoutMs, DEFAULTS.lockTimeoutMs),
      staleLockMs: posInt(opts.staleLockMs, DEFAULTS.staleLockMs),
      flushIntervalMs: posInt(opts.flushIntervalMs, DEFAULTS.flushIntervalMs),
      flushAtBytes: fsync === 'always' ? 0 : nonNeg(opts.flushAtBytes, DEFAULTS.flushAtBytes),
      maxBatchBytes: posInt(opts.maxBatchBytes, DEFAULTS.maxBatchBytes),
      maxHoldBytes: DEFAULTS.maxHoldBytes,
      maxQueueEvents: posInt(opts.maxQueueEvents, DEFAULTS.maxQueueEvents),
      maxQueueBytes: posInt(opts.maxQueueBytes, DEFAULTS.maxQueueBytes),
      maxEventBytes: Math.min(posInt(opts.maxEventBytes, DEFAULTS.maxEventBytes), MAX_LINE_BYTES),
      fsync,
    };
    this.rotation = {
      maxBytes: nonNeg(opts.rotation?.maxBytes, 0),
      maxFiles: nonNeg(opts.rotation?.maxFiles, 0),
      maxAgeDays: nonNeg(opts.rotation?.maxAgeDays, 0),
    };
    this.writeImpl = opts.writeImpl ?? ((fd, buf, off, len) => fs.writeSync(fd, buf, off, len));
    this.fsyncImpl = opts.fsyncImpl ?? ((fd) => fs.fsyncSync(fd));
    this.onLockWait = opts.onLockWait;
    try {
      ensureDir(path.dirname(this.file));
    } catch (err) {
      throw new SinkError('ERR_OPEN', `cannot create folder ${path.dirname(this.file)}: ${describe(err)}`, err);
    }
    const chosen = chooseBackend(opts.lock ?? 'auto', this.file, { staleMs: this.o.staleLockMs });
    this.backend = chosen.backend;
    this.backendReason = chosen.reason;
    this.openFd();
    this.log(chosen.backend.name === 'flock' ? 'info' : 'warn', `lock backend ${chosen.backend.name} (${chosen.reason}); file ${this.file}`);
  }

  /** Registers a listener for I/O faults (lock timeouts, write/fsync errors). Returns an unsubscribe. */
  onFault(listener: (err: SinkError) => void): () => void {
    this.faultListeners.add(listener);
    return () => this.faultListeners.delete(listener);
  }

  get queuedEvents(): number {
    return this.queue.events;
  }

  private get queuedBytes(): number {
    return this.queue.bytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues one event. Returns its seq, or -1 when it was dropped (queue full, sink closed).
   * Throws ERR_INVALID_EVENT (naming the field) on bad input; never throws on I/O.
   * `at` (ms since the epoch; default now) is its ts, for events held until the sink was made.
   */
  record(type: string, data?: unknown, source?: string, at?: number): number {
    return this.enqueue(this.encode(type, data, source, 0, at));
  }

  /**
   * Queues a batch all or nothing: every event is checked and serialized before any is queued (an
   * invalid one throws ERR_INVALID_EVENT naming its index, and nothing is queued), and when the
   * queue cannot take them all nothing is queued or counted as dropped (returns null).
   */
  recordAll(events: ReadonlyArray<{ type: string; data?: unknown }>, source?: string): number[] | null {
    const encoded = events.map((e, i) => {
      try {
        return this.encode(e.type, e.data, source, i);
      } catch (err) {
        throw err instanceof SinkError ? new SinkError(err.code, `event ${i}: ${err.message}`) : err;
      }
    });
    // Checked with each event at its largest (3 UTF-8 bytes per UTF-16 unit), so no event of an
    // accepted batch can be dropped for bytes while the others are queued.
    const bytes = encoded.reduce((a, e) => a + e.estimate + 2 * e.dataJson.length, 0);
    if (this.closed || this.closing) return null;
    if (this.queuedEvents + encoded.length + (this.drop ? 1 : 0) > this.o.maxQueueEvents) return null;
    if (this.queuedBytes + bytes + (this.drop ? NOTICE_RESERVE : 0) > this.o.maxQueueBytes) return null;
    return encoded.map((e) => this.enqueue(e));
  }

  private encode(type: string, data: unknown, source: string | undefined, ahead = 0, at = Date.now()): Encoded {
    if (!Number.isSafeInteger(at) || at < 0 || at >= 253402300800000) throw new SinkError('ERR_INVALID_EVENT', 'field "ts": not a time in years 1970-9999');
    checkType(type);
    const sourceJson = source === undefined || source === this.source ? this.sourceJson : JSON.stringify(checkSource(source));
    const dataJson = serializeData(data);
    const ts = isoNow(at);
    const typeSource = this.typeSource(type, sourceJson);
    return { ts, typeSource, dataJson, estimate: this.checkLineSize(ts, typeSource, dataJson, ahead) };
  }

  private enqueue(e: Encoded): number {
    const ts = e.ts;
    if (this.closed || this.closing) return this.noteDrop(this.closed ? 'closed' : 'closing', ts, false);
    const reserve = this.drop ? NOTICE_RESERVE : 0;
    if (this.queuedEvents + (this.drop ? 2 : 1) > this.o.maxQueueEvents) return this.noteDrop('queue_full_events', ts, true);
    if (this.queuedBytes + e.estimate + reserve > this.o.maxQueueBytes) return this.noteDrop('queue_full_bytes', ts, true);
    if (this.drop) this.enqueueDropNotice();
    const seq = this.nextSeq++;
    if (ts !== this.tsText) {
      this.tsText = ts;
      this.tsBytes = Buffer.from(ts, 'latin1');
    }
    this.queue.appendEvent(this.tsBytes, this.sidSeq, seq, e.typeSource, e.dataJson);
    this.schedule();
    return seq;
  }

  /**
   * The exact length of the line this event makes (without its newline) must not pass the one line
   * cap verify applies (MAX_LINE_BYTES). Returns the line length (UTF-8 bytes are counted only when
   * the event could be near the cap; below that, the UTF-16 length serves as the queue's estimate).
   */
  private checkLineSize(ts: string, typeSource: Buffer, dataJson: string, ahead: number): number {
    // `ahead`: events of the same batch queued before this one (all-or-nothing batches encode first).
    const seqDigits = String(this.nextSeq + ahead + (this.drop ? 1 : 0)).length;
    const fixed = LINE_FIXED + ts.length + this.sidSeq.length + seqDigits + typeSource.length;
    if (fixed + dataJson.length * 3 <= this.o.maxEventBytes) return fixed + dataJson.length; // exact for ASCII
    const dataBytes = Buffer.byteLength(dataJson);
    if (fixed + dataBytes > this.o.maxEventBytes) {
      throw new SinkError('ERR_INVALID_EVENT', `field "data": ${dataBytes} bytes make a ${fixed + dataBytes}-byte line, over the ${this.o.maxEventBytes}-byte line cap`);
    }
    return fixed + dataBytes;
  }

  /** Cached `,"type":"…","source":…,"data":` bytes (type and source are checked: nothing to escape). */
  private typeSource(type: string, sourceJson: string): Buffer {
    const key = sourceJson === this.sourceJson ? type : type + ' ' + sourceJson;
    let b = this.typeSourceCache.get(key);
    if (!b) {
      if (this.typeSourceCache.size > 512) this.typeSourceCache.clear();
      b = Buffer.from(',"type":"' + type + '","source":' + sourceJson + ',"data":', 'utf8');
      this.typeSourceCache.set(key, b);
    }
    return b;
  }

  private noteDrop(reason: string, ts: string, takesSeq: boolean): number {
    this.st.droppedTotal++;
    this.st.dropped[reason] = (this.st.dropped[reason] ?? 0) + 1;
    if (!takesSeq) return -1; // after close: nothing more can be written to account for it
    this.st.droppedWithSeq++;
    const seq = this.nextSeq++;
    if (!this.drop) {
      this.drop = { from: seq, to: seq, count: 0, reasons: {}, firstTs: ts, lastTs: ts };
      this.log('warn', `queue full (${reason}): dropping events from seq ${seq}`);
    }
    this.drop.to = seq;
    this.drop.count++;
    this.drop.lastTs = ts;
    this.drop.reasons[reason] = (this.drop.reasons[reason] ?? 0) + 1;
    return -1;
  }

  private enqueueDropNotice(): void {
    const d = this.drop!;
    this.drop = null;
    const seq = this.nextSeq++;
    const data = { from_seq: d.from, to_seq: d.to, count: d.count, reasons: d.reasons, first_ts: d.firstTs, last_ts: d.lastTs };
    this.queue.appendEnvelope('{"v":1,"id":"' + randomUUID() + '","ts":"' + isoNow() + '","sid":"' + this.sid + '","seq":' + seq + ',"type":"sink.dropped","source":' + this.sourceJson + ',"data":' + JSON.stringify(data));
    this.schedule();
  }

  private schedule(): void {
    if (this.o.flushAtBytes === 0 || this.queuedBytes >= this.o.flushAtBytes) {
      if (!this.immediate) {
        this.immediate = setImmediate(() => {
          this.immediate = null;
          void this.flush();
        });
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.o.flushIntervalMs);
      this.timer.unref?.();
    }
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
    while (this.queuedEvents > 0 && !this.closed) {
      const t0 = performance.now();
      let tries = 0;
      let step: SinkError | boolean;
      while ((step = this.lockStep(t0, tries, this.o.lockTimeoutMs)) === false) await pause(++tries);
      if (!this.writeAfterLock(step, res)) break;
    }
    this.afterDrain(res);
    return res;
  }

  /** Synchronous drain with a sleeping try-lock loop; for process exit and CLI tools only. */
  flushSync(timeoutMs = this.o.lockTimeoutMs): FlushResult {
    const res: FlushResult = { written: 0, batches: 0, pending: 0 };
    while (this.queuedEvents > 0 && !this.closed) {
      const t0 = performance.now();
      let tries = 0;
      let step: SinkError | boolean;
      while ((step = this.lockStep(t0, tries, timeoutMs)) === false) sleepSync(Math.min(++tries, 10));
      if (!this.writeAfterLock(step, res)) break;
    }
    this.afterDrain(res);
    return res;
  }

  /** One try-lock attempt of an acquisition that started at t0: true held, false busy, or the error. */
  private lockStep(t0: number, tries: number, timeoutMs: number): SinkError | boolean {
    try {
      if (this.attemptLock()) {
        this.noteAcquired(t0, tries);
        return true;
      }
    } catch (e) {
      return asSinkError(e, 'ERR_OPEN');
    }
    if (performance.now() - t0 < timeoutMs) return false;
    this.st.lockTimeouts++;
    return new SinkError('ERR_LOCK_TIMEOUT', `could not lock ${this.file} within ${timeoutMs} ms (${this.backend.name}); ${this.queuedEvents} events stay queued`);
  }

  /** After an acquisition: write under the lock, or record the failure. False ends the drain. */
  private writeAfterLock(step: SinkError | true, res: FlushResult): boolean {
    const err = step === true ? this.writeHeld(res) : step;
    if (!err) return true;
    res.error = this.fault(err);
    return false;
  }

  private noteAcquired(t0: number, tries: number): void {
    const us = (performance.now() - t0) * 1000;
    this.lockWait.record(us);
    this.onLockWait?.(us);
    if (tries > 0) this.st.contention++;
  }

  private afterDrain(res: FlushResult): void {
    if (this.drop && !this.closed && this.queuedEvents + 1 <= this.o.maxQueueEvents) this.enqueueDropNotice();
    res.pending = this.queuedEvents;
    if (this.queuedEvents > 0 && !this.closed && !this.closing) {
      // Retry later (lock busy, disk full, …): the events stay queued within the bounds.
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          void this.flush();
        }, res.error ? this.o.flushIntervalMs : 0);
        this.timer.unref?.();
      }
    }
  }

  /**
   * One non-blocking attempt: lock, then make sure the fd still names the file at `path`
   * (one stat of the path against the inode our fd was opened on; its size feeds the fence).
   */
  private attemptLock(): boolean {
    for (let round = 0; round < 4; round++) {
      if (this.fd === null) this.openFd();
      if (!this.held) {
        if (!this.backend.tryLock(this.fd!)) return false;
        this.held = true;
      }
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      if (st && st.ino === this.fdIno && st.dev === this.fdDev) {
        this.lockedSize = st.size;
        return true;
      }
      // Renamed (rotated) or deleted by someone else: reopen the path and lock the new file.
      this.st.reopens++;
      this.reopen();
    }
    return false;
  }

  /**
   * Opens the live file after checking its folder (on every reopen too: a folder made unsafe later
   * is refused then): no symlink followed, no FIFO/device/socket, owned by us (see safefs.ts).
   */
  private openFd(): void {
    this.fd = null;
    let opened: { fd: number; st: fs.Stats };
    try {
      const trust = checkDir(path.dirname(this.file), 'write');
      opened = openRegular(this.file, LIVE_FLAGS, 0o600, trust);
    } catch (err) {
      throw err instanceof SinkError ? err : new SinkError('ERR_OPEN', `cannot open ${this.file}: ${describe(err)}`, err);
    }
    this.fd = opened.fd;
    this.fdIno = opened.st.ino;
    this.fdDev = opened.st.dev;
    this.lastEnd = -1;
  }

  private reopen(): void {
    if (this.held && this.backend.boundToFd) {
      this.backend.unlock(this.fd!);
      this.held = false;
    }
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* nothing to do */
      }
      this.fd = null;
    }
    this.openFd();
  }

  private release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      this.backend.unlock(this.fd!);
    } catch (err) {
      this.fault(asSinkError(err, 'ERR_LOCK_COMPROMISED'));
    }
  }

  /** Writes batches while holding the lock (bounded), then releases. Returns an error, if any. */
  private writeHeld(res: FlushResult): SinkError | undefined {
    let heldBytes = 0;
    try {
      let size = this.lockedSize;
      while (this.queuedEvents > 0 && heldBytes < this.o.maxHoldBytes) {
        const fd = this.fd!;
        let fence = false;
        if (size > 0 && size !== this.lastEnd) {
          const b = Buffer.alloc(1);
          fs.readSync(fd, b, 0, 1, size - 1);
          if (b[0] !== NL) fence = true;
        }
        // The batch: bounded by maxBatchBytes and, with rotation on, by the room left in the file.
        const rotating = this.rotation.maxBytes > 0 && !this.rotationBroken;
        const room = rotating ? this.rotation.maxBytes - size - (fence ? 1 : 0) : Infinity;
        const batch = this.queue.peek(this.o.fsync === 'always' ? 1 : Infinity, Math.min(this.o.maxBatchBytes, room), !rotating || size === 0);
        if (!batch) {
          // Nothing fits in the live file any more: rotate, and the drain loop locks the new file.
          this.rotateHeld();
          return undefined;
        }
        const n = batch.events;
        // A lock file can be broken by a process that misjudged it stale: never write unless it is ours.
        if (this.backend.stillHeld && !this.backend.stillHeld()) {
          this.held = false;
          try {
            this.backend.unlock(fd); // releases a flock; leaves the other process's lock file alone
          } catch {
            /* the compromise is reported below, once */
          }
          return new SinkError('ERR_LOCK_COMPROMISED', `the lock on ${this.file} was taken from this process before it wrote; ${this.queuedEvents} events stay queued`);
        }
        const buf = fence ? Buffer.concat([NL_BUF, batch.bytes]) : batch.bytes;
        this.writeAll(fd, buf, size);
        if (fence) {
          this.st.tornTailsFenced++;
          this.log('warn', `fenced a torn tail (a writer died mid-line) at byte ${size} of ${this.file}`);
        }
        size += buf.length;
        this.lastEnd = size;
        let fsyncErr: SinkError | undefined;
        if (this.o.fsync !== 'never') {
          try {
            this.fsyncImpl(fd);
          } catch (err) {
            // Never retried into a false success: the batch is in the file but not known durable.
            this.st.fsyncFailures++;
            this.st.unsyncedEvents += n;
            fsyncErr = new SinkError('ERR_FSYNC', `fsync of ${this.file} failed after writing ${n} events (they may not survive a crash): ${describe(err)}`, err);
          }
        }
        this.queue.consume(n);
        this.st.written += n;
        this.st.bytes += buf.length;
        this.st.batches++;
        res.written += n;
        res.batches++;
        heldBytes += buf.length;
        if (fsyncErr) return fsyncErr;
      }
      return undefined;
    } catch (err) {
      return asSinkError(err, 'ERR_WRITE');
    } finally {
      this.release();
    }
  }

  /** Loops on short writes while holding the lock; undoes a partial batch on failure. */
  private writeAll(fd: number, buf: Buffer, startSize: number): void {
    let off = 0;
    let eagain = 0;
    while (off < buf.length) {
      let n: number;
      try {
        n = this.writeImpl(fd, buf, off, buf.length - off);
      } catch (err) {
        if (errnoCode(err) === 'EAGAIN' && eagain++ < EAGAIN_RETRIES) {
          sleepSync(1);
          continue;
        }
        this.rollback(fd, startSize, off);
        throw new SinkError('ERR_WRITE', `write to ${this.file} failed after ${off} of ${buf.length} bytes: ${describe(err)}`, err);
      }
      if (n <= 0) {
        this.rollback(fd, startSize, off);
        throw new SinkError('ERR_WRITE', `write to ${this.file} made no progress after ${off} of ${buf.length} bytes`);
      }
      off += n;
    }
  }

  private rollback(fd: number, startSize: number, written: number): void {
    if (written === 0) return;
    try {
      fs.ftruncateSync(fd, startSize);
      this.st.writeRollbacks++;
      this.lastEnd = startSize;
    } catch (err) {
      // Could not cut the partial batch off. The fragment will be fenced by the next writer; the
      // events stay queued and are written again, so none is lost (verify shows the torn fragment).
      this.lastEnd = -1;
      this.log('error', `could not undo a partial write at byte ${startSize}: ${describe(err)}`);
    }
  }

  /** Rotates under the lock (the live path never disappears, see rotateFile); retention runs later. */
  private rotateHeld(): void {
    let target: string;
    try {
      target = rotateFile(this.file, fs.fstatSync(this.fd!));
    } catch (err) {
      this.fault(new SinkError('ERR_ROTATE', `could not rotate ${this.file}: ${describe(err)}; size rotation is off until the sink reopens`, err));
      this.rotationBroken = true;
      return;
    }
    this.st.rotations++;
    this.log('info', `rotated ${this.file} → ${path.basename(target)}`);
    this.scheduleRetention();
    this.reopen();
  }

  private retentionQueued = false;
  private swept = false;
  /**
   * Retention lists the folder and deletes files: never under the lock. The sink never yields to the
   * event loop while it holds the lock (batches are written synchronously), so an immediate runs
   * after the release. The first run of a sink also sweeps leftovers of killed writers.
   */
  private scheduleRetention(): void {
    if (this.retentionQueued) return;
    this.retentionQueued = true;
    setImmediate(() => {
      this.retentionQueued = false;
      const sweep = !this.swept;
      this.swept = true;
      try {
        const removed = applyRetention(this.file, this.rotation, Date.now(), sweep);
        if (removed.length) this.log('info', `retention removed ${removed.length} rotated file(s)`);
      } catch (err) {
        this.log('warn', `retention failed: ${describe(err)}`);
      }
    });
  }

  /** Rotates the live file now (under the lock), whatever its size. */
  async rotateNow(): Promise<{ rotated: boolean; error?: SinkError }> {
    await this.flush();
    const t0 = performance.now();
    let tries = 0;
    let step: SinkError | boolean;
    while ((step = this.lockStep(t0, tries, this.o.lockTimeoutMs)) === false) await pause(++tries);
    if (step !== true) return { rotated: false, error: this.fault(step) };
    const before = this.st.rotations;
    if (this.lockedSize > 0) this.rotateHeld();
    this.release();
    return { rotated: this.st.rotations > before };
  }

  /**
   * Flushes what is queued (retrying a busy lock until the deadline) and closes the file.
   * With sessionEnd, records a `session.end` event carrying this sink's stats first.
   */
  async close(opts: { sessionEnd?: boolean | Record<string, unknown>; timeoutMs?: number } = {}): Promise<FlushResult> {
    if (this.closed) return { written: 0, batches: 0, pending: 0 };
    if (opts.sessionEnd) {
      // Flush first so the recorded stats describe everything this session wrote.
      if (this.queuedEvents > 0) await this.flush();
      this.record('session.end', { ...(typeof opts.sessionEnd === 'object' ? opts.sessionEnd : {}), stats: statsForEvents(this.stats()) });
    }
    this.closing = true;
    this.clearTimers();
    const deadline = performance.now() + (opts.timeoutMs ?? this.o.lockTimeoutMs * 2);
    let res: FlushResult = { written: 0, batches: 0, pending: this.queuedEvents };
    let written = 0;
    while (this.queuedEvents > 0) {
      res = await this.flush();
      written += res.written;
      if (this.queuedEvents === 0 || performance.now() >= deadline) break;
      if (res.error) await delay(Math.min(50, this.o.flushIntervalMs));
    }
    return this.finishClose({ ...res, written });
  }

  /** Synchronous close for process exit handlers. */
  closeSync(opts: { sessionEnd?: boolean | Record<string, unknown>; timeoutMs?: number } = {}): FlushResult {
    if (this.closed) return { written: 0, batches: 0, pending: 0 };
    if (opts.sessionEnd) this.record('session.end', { ...(typeof opts.sessionEnd === 'object' ? opts.sessionEnd : {}), stats: statsForEvents(this.stats()) });
    this.closing = true;
    this.clearTimers();
    const res = this.flushSync(opts.timeoutMs ?? this.o.lockTimeoutMs);
    return this.finishClose(res);
  }

  private finishClose(res: FlushResult): FlushResult {
    const pending = this.queuedEvents;
    if (pending > 0) {
      const err = new SinkError('ERR_UNFLUSHED', `closed with ${pending} events not written to ${this.file}${res.error ? ` (${res.error.message})` : ''}`);
      res = { ...res, error: this.fault(err) };
      this.st.droppedTotal += pending;
      this.st.dropped['unflushed_at_close'] = (this.st.dropped['unflushed_at_close'] ?? 0) + pending;
    }
    this.closed = true;
    this.release();
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = null;
    }
    this.queue.clear();
    return { ...res, pending };
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private fault(err: SinkError): SinkError {
    this.st.errorsTotal++;
    this.st.errors[err.code] = (this.st.errors[err.code] ?? 0) + 1;
    this.st.lastError = { code: err.code, message: err.message, at: new Date().toISOString(), ...(err.sysCode ? { sysCode: err.sysCode } : {}) };
    this.log('error', `${err.code}${err.sysCode ? ` (${err.sysCode})` : ''}: ${err.message}`);
    for (const l of this.faultListeners) {
      try {
        l(err);
      } catch {
        /* a listener's bug must not break the sink */
      }
    }
    return err;
  }

  stats(): SinkStats {
    const s = this.st;
    return {
      file: this.file,
      sid: this.sid,
      backend: this.backend.name,
      lockProvider: this.backend.provider ?? null,
      backendReason: this.backendReason,
      accepted: this.nextSeq - s.droppedWithSeq,
      written: s.written,
      bytes: s.bytes,
      batches: s.batches,
      queued: { events: this.queuedEvents, bytes: this.queuedBytes },
      lockWait: this.lockWait.summary(),
      contention: s.contention,
      lockTimeouts: s.lockTimeouts,
      tornTailsFenced: s.tornTailsFenced,
      reopens: s.reopens,
      rotations: s.rotations,
      dropped: { total: s.droppedTotal, byReason: { ...s.dropped } },
      errors: { total: s.errorsTotal, byCode: { ...s.errors }, ...(s.lastError ? { last: s.lastError } : {}) },
      fsyncFailures: s.fsyncFailures,
      unsyncedEvents: s.unsyncedEvents,
      writeRollbacks: s.writeRollbacks,
      staleLocksBroken: this.backend.counters.staleBroken + (this.backend.mixedCounters?.staleBroken ?? 0),
      lockCompromised: this.backend.counters.compromised + (this.backend.mixedCounters?.compromised ?? 0),
    };
  }
}

function asSinkError(err: unknown, fallback: SinkError['code']): SinkError {
  return err instanceof SinkError ? err : new SinkError(fallback, describe(err), err);
}

function posInt(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : d;
}
function nonNeg(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : d;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Backoff between try-lock attempts. Holds last tens of µs, so a few yields usually suffice;
 * then 1 ms timers, then 1–4 ms with jitter so waiters do not retry in lockstep.
 */
function pause(tries: number): Promise<void> {
  if (tries <= 4) return new Promise((r) => setImmediate(r));
  if (tries <= 20) return delay(1);
  return delay(1 + Math.floor(Math.random() * 4));
}
