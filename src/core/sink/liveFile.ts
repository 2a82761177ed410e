import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SinkError, describe } from './errors';
import { Histogram } from './histogram';
import { chooseBackend, LockBackend } from './locks';
import { ensureDir } from './paths';
import type { SinkConfig } from './options';
import { checkDir, LIVE_FLAGS, openRegular } from './safefs';
import { backoff, backoffSync } from './backoff';
import { asSinkError, LockCounters } from './sinkStats';

/**
 * The locked live file: one open file description of the events path and the cross-process lock
 * on it, by the backend chosen when it opens (locks.ts). acquire() takes the lock (non-blocking attempts with the shared backoff, backoff.ts) and
 * makes sure the fd still names the file at the path, reopening it when another writer rotated or
 * deleted it; every open checks the folder and the file first (safefs.ts).
 */
export class LiveFile implements LockCounters {
  fd: number | null = null;
  private held = false;
  private ino = -1;
  private dev = -1;
  /** Size of the live file when the lock was taken (valid while held). */
  lockedSize = 0;

  contention = 0;
  lockTimeouts = 0;
  reopens = 0;
  readonly lockWait = new Histogram();

  readonly file: string;
  readonly backend: LockBackend;
  /** Why this backend (e.g. the fs-ext load error that forced the fallback). */
  readonly backendReason: string;
  private readonly onLockWait?: (us: number) => void;

  /** Creates the folder (0700) if needed, picks the lock backend and opens the file. Throws SinkError. */
  constructor(
    o: SinkConfig,
    private readonly hooks: {
      fault: (err: SinkError) => void;
      /** Events that stay queued when an acquisition times out (for its message). */
      queued: () => number;
    },
  ) {
    this.file = o.file;
    this.onLockWait = o.onLockWait;
    try {
      ensureDir(path.dirname(o.file));
    } catch (err) {
      throw new SinkError('ERR_OPEN', `cannot create folder ${path.dirname(o.file)}: ${describe(err)}`, err);
    }
    const chosen = chooseBackend(o.lock, o.file, { staleMs: o.staleLockMs });
    this.backend = chosen.backend;
    this.backendReason = chosen.reason;
    this.open();
    o.log(chosen.backend.name === 'flock' ? 'info' : 'warn', `lock backend ${chosen.backend.name} (${chosen.reason}); file ${o.file}`);
  }

  /**
   * Takes the lock within `timeoutMs`, yielding between attempts. Undefined when held, else why not.
   * When the first attempt decides, the answer comes back as it is, not as a promise: a flush that
   * finds the lock free does not wait a turn of the microtask queue (the per-event flush path).
   */
  acquire(timeoutMs: number): SinkError | undefined | Promise<SinkError | undefined> {
    const t0 = performance.now();
    const first = this.attempt(t0, 0, timeoutMs);
    if (first !== false) return first === true ? undefined : first;
    return this.retry(t0, timeoutMs);
  }

  private async retry(t0: number, timeoutMs: number): Promise<SinkError | undefined> {
    let tries = 0;
    let step: SinkError | boolean = false;
    while (step === false) {
      await backoff(++tries);
      step = this.attempt(t0, tries, timeoutMs);
    }
    return step === true ? undefined : step;
  }

  /** acquire() blocking the thread between attempts (process exit and CLI tools only). */
  acquireSync(timeoutMs: number): SinkError | undefined {
    const t0 = performance.now();
    let tries = 0;
    let step: SinkError | boolean;
    while ((step = this.attempt(t0, tries, timeoutMs)) === false) backoffSync(++tries);
    return step === true ? undefined : step;
  }

  /** One attempt of an acquisition that started at t0: true held, false busy, or the error. */
  private attempt(t0: number, tries: number, timeoutMs: number): SinkError | boolean {
    try {
      if (this.tryLock()) {
        const us = (performance.now() - t0) * 1000;
        this.lockWait.record(us);
        this.onLockWait?.(us);
        if (tries > 0) this.contention++;
        return true;
      }
    } catch (e) {
      return asSinkError(e, 'ERR_OPEN');
    }
    if (performance.now() - t0 < timeoutMs) return false;
    this.lockTimeouts++;
    return new SinkError('ERR_LOCK_TIMEOUT', `could not lock ${this.file} within ${timeoutMs} ms (${this.backend.name}); ${this.hooks.queued()} events stay queued`);
  }

  /**
   * One non-blocking attempt: lock, then make sure the fd still names the file at `path`
   * (one stat of the path against the inode our fd was opened on; its size feeds the fence).
   */
  private tryLock(): boolean {
    for (let round = 0; round < 4; round++) {
      if (this.fd === null) this.open();
      if (!this.held) {
        if (!this.backend.tryLock(this.fd!)) return false;
        this.held = true;
      }
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      if (st && st.ino === this.ino && st.dev === this.dev) {
        this.lockedSize = st.size;
        return true;
      }
      // Renamed (rotated) or deleted by someone else: reopen the path and lock the new file.
      this.reopens++;
      this.reopen();
    }
    return false;
  }

  /**
   * A lock file can be broken by a process that misjudged it stale: true while it is provably ours
   * (always, for flock). When it is not, lets go of it without touching the other process's lock.
   */
  stillOurs(): boolean {
    if (!this.backend.stillHeld || this.backend.stillHeld()) return true;
    this.held = false;
    try {
      this.backend.unlock(this.fd!); // releases a flock; leaves the other process's lock file alone
    } catch {
      /* the caller reports the compromise, once */
    }
    return false;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      this.backend.unlock(this.fd!);
    } catch (err) {
      this.hooks.fault(asSinkError(err, 'ERR_LOCK_COMPROMISED'));
    }
  }

  /**
   * Opens the live file after checking its folder (on every reopen too: a folder made unsafe later
   * is refused then): no symlink followed, no FIFO/device/socket, owned by us (see safefs.ts).
   */
  private open(): void {
    this.fd = null;
    let opened: { fd: number; st: fs.Stats };
    try {
      const trust = checkDir(path.dirname(this.file), 'write');
      opened = openRegular(this.file, LIVE_FLAGS, 0o600, trust);
    } catch (err) {
      throw err instanceof SinkError ? err : new SinkError('ERR_OPEN', `cannot open ${this.file}: ${describe(err)}`, err);
    }
    this.fd = opened.fd;
    this.ino = opened.st.ino;
    this.dev = opened.st.dev;
  }

  /** Opens the path again (after a rotation); a lock bound to the old fd goes with it. */
  reopen(): void {
    if (this.held && this.backend.boundToFd) {
      this.backend.unlock(this.fd!);
      this.held = false;
    }
    this.closeFd();
    this.open();
  }

  /** Releases the lock and closes the file. */
  close(): void {
    this.release();
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = null;
  }
}
