import * as fs from 'node:fs';
import * as path from 'node:path';
import { SinkError, errnoCode, describe } from './errors';
import { sleepSync } from './backoff';
import { applyRetention, rotateFile } from './rotation';
import type { Batch, ByteQueue } from './queue';
import type { LiveFile } from './liveFile';
import type { SinkConfig } from './options';
import { asSinkError, WriteCounters } from './sinkStats';

const EAGAIN_RETRIES = 8;
const NL = 0x0a;
const NL_BUF = Buffer.from('\n');

/** What one flush did (the front door's FlushResult counts on these). */
export interface Written {
  written: number;
  batches: number;
}

/**
 * The batch writer: everything done while the lock is held. Per batch: the torn-tail fence, one
 * write of whole lines (short writes looped, a failed batch cut off again), fsync by policy, and
 * size rotation when the next batch would not fit. Never yields to the event loop while it holds
 * the lock; retention (a folder listing and deletes) runs afterwards.
 */
export class BatchWriter implements WriteCounters {
  written = 0;
  bytes = 0;
  batches = 0;
  tornTailsFenced = 0;
  rotations = 0;
  fsyncFailures = 0;
  unsyncedEvents = 0;
  writeRollbacks = 0;
  private rotationBroken = false;
  private retentionQueued = false;
  private swept = false;

  constructor(
    private readonly live: LiveFile,
    private readonly queue: ByteQueue,
    private readonly o: SinkConfig,
    private readonly fault: (err: SinkError) => SinkError,
  ) {}

  /** Writes batches while holding the lock (at most maxHoldBytes), then releases. Returns an error, if any. */
  writeHeld(res: Written): SinkError | undefined {
    try {
      return this.writeBatches(res);
    } catch (err) {
      return asSinkError(err, 'ERR_WRITE');
    } finally {
      this.live.release();
    }
  }

  private writeBatches(res: Written): SinkError | undefined {
    let size = this.live.lockedSize;
    let heldBytes = 0;
    while (this.queue.events > 0 && heldBytes < this.o.maxHoldBytes) {
      const fd = this.live.fd!;
      // The tail byte is read every batch, even when the size is where our last write ended: a
      // repair can shrink the file and a crashed writer's fragment bring it back to that very size.
      const fence = size > 0 && !endsWithNewline(fd, size);
      const batch = this.nextBatch(size, fence);
      if (!batch) {
        // Nothing fits in the live file any more: rotate, and the drain loop locks the new file.
        this.rotateHeld();
        return undefined;
      }
      if (!this.live.stillOurs()) {
        return new SinkError('ERR_LOCK_COMPROMISED', `the lock on ${this.o.file} was taken from this process before it wrote; ${this.queue.events} events stay queued`);
      }
      const buf = fence ? Buffer.concat([NL_BUF, batch.bytes]) : batch.bytes;
      this.writeAll(fd, buf, size);
      if (fence) {
        this.tornTailsFenced++;
        this.o.log('warn', `fenced a torn tail (a writer died mid-line) at byte ${size} of ${this.o.file}`);
      }
      size += buf.length;
      const fsyncErr = this.sync(fd, batch.events);
      this.queue.consume(batch.events);
      this.written += batch.events;
      this.bytes += buf.length;
      this.batches++;
      res.written += batch.events;
      res.batches++;
      heldBytes += buf.length;
      if (fsyncErr) return fsyncErr;
    }
    return undefined;
  }

  /** The next batch: bounded by maxBatchBytes and, with rotation on, by the room left in the file. */
  private nextBatch(size: number, fence: boolean): Batch | null {
    const rotating = this.o.rotation.maxBytes > 0 && !this.rotationBroken;
    const room = rotating ? this.o.rotation.maxBytes - size - (fence ? 1 : 0) : Infinity;
    return this.queue.peek(this.o.fsync === 'always' ? 1 : Infinity, Math.min(this.o.maxBatchBytes, room), !rotating || size === 0);
  }

  /** fsync by policy. A failure is never retried into a false success: the batch is in the file but not known durable. */
  private sync(fd: number, events: number): SinkError | undefined {
    if (this.o.fsync === 'never') return undefined;
    try {
      this.o.fsyncImpl(fd);
      return undefined;
    } catch (err) {
      this.fsyncFailures++;
      this.unsyncedEvents += events;
      return new SinkError('ERR_FSYNC', `fsync of ${this.o.file} failed after writing ${events} events (they may not survive a crash): ${describe(err)}`, err);
    }
  }

  /** Loops on short writes while holding the lock; undoes a partial batch on failure. */
  private writeAll(fd: number, buf: Buffer, startSize: number): void {
    let off = 0;
    let eagain = 0;
    while (off < buf.length) {
      let n: number;
      try {
        n = this.o.writeImpl(fd, buf, off, buf.length - off);
      } catch (err) {
        if (errnoCode(err) === 'EAGAIN' && eagain++ < EAGAIN_RETRIES) {
          sleepSync(1);
          continue;
        }
        this.rollback(fd, startSize, off);
        throw new SinkError('ERR_WRITE', `write to ${this.o.file} failed after ${off} of ${buf.length} bytes: ${describe(err)}`, err);
      }
      if (n <= 0) {
        this.rollback(fd, startSize, off);
        throw new SinkError('ERR_WRITE', `write to ${this.o.file} made no progress after ${off} of ${buf.length} bytes`);
      }
      off += n;
    }
  }

  private rollback(fd: number, startSize: number, written: number): void {
    if (written === 0) return;
    try {
      fs.ftruncateSync(fd, startSize);
      this.writeRollbacks++;
    } catch (err) {
      // Could not cut the partial batch off. The fragment will be fenced by the next writer; the
      // events stay queued and are written again, so none is lost (verify shows the torn fragment).
      this.o.log('error', `could not undo a partial write at byte ${startSize}: ${describe(err)}`);
    }
  }

  /** Rotates under the lock (the live path never disappears, see rotateFile); retention runs later. */
  rotateHeld(): void {
    let target: string;
    try {
      target = rotateFile(this.o.file, fs.fstatSync(this.live.fd!));
    } catch (err) {
      this.fault(new SinkError('ERR_ROTATE', `could not rotate ${this.o.file}: ${describe(err)}; size rotation is off until the sink reopens`, err));
      this.rotationBroken = true;
      return;
    }
    this.rotations++;
    this.o.log('info', `rotated ${this.o.file} → ${path.basename(target)}`);
    this.scheduleRetention();
    this.live.reopen();
  }

  /**
   * Retention lists the folder and deletes files: never under the lock. The writer never yields to
   * the event loop while it holds the lock (batches are written synchronously), so an immediate
   * runs after the release. The first run of a sink also sweeps leftovers of killed writers.
   */
  private scheduleRetention(): void {
    if (this.retentionQueued) return;
    this.retentionQueued = true;
    setImmediate(() => {
      this.retentionQueued = false;
      const sweep = !this.swept;
      this.swept = true;
      try {
        const removed = applyRetention(this.o.file, this.o.rotation, Date.now(), sweep);
        if (removed.length) this.o.log('info', `retention removed ${removed.length} rotated file(s)`);
      } catch (err) {
        this.o.log('warn', `retention failed: ${describe(err)}`);
      }
    });
  }
}

/** Whether the byte before `size` is a newline (else a writer died mid-line: fence it). */
function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, size - 1);
  return b[0] === NL;
}
