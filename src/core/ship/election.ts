/**
 * One shipper per (events file set, destination): an exclusive flock on `<file>.ship-<key>.lock`
 * beside the events file (the flock backend of sink/locks.ts, only non-blocking attempts), plus a
 * lease file `….lock.owner` (O_EXCL, pid + token) that every shipper takes too — so a shipper that
 * cannot load flock (desktop VS Code's Electron today) and one that can still exclude each other.
 * The kernel drops the flock when its holder exits or dies; the lease is taken over at once when its
 * holder's pid is dead on this host, or when it was not refreshed for 30 s (its holder was stopped).
 * A holder that finds its lease taken stops before its next batch (`held()`); a batch it had in
 * flight is at worst a duplicate that FINAL collapses. The CLI and every VS Code window use the same
 * files, so they exclude each other.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlockBackend, LockfileBackend } from '../sink/locks';
import { chooseFlockProvider } from '../sink/flockProviders';
import { ensureDir } from '../sink/paths';
import { ShipError } from './errors';
import { openNoFollow } from './safeFs';

const LEASE_MS = 30_000;
const REFRESH_MS = 5_000;

export class ShipLock {
  /** flock + lease where fs-ext loads, the lease alone where it cannot. */
  readonly backend: 'flock' | 'lockfile';
  private fd: number | undefined;
  private readonly flock: FlockBackend | undefined;
  private readonly owner: LockfileBackend;
  private readonly ownerPath: string;
  private refresh: NodeJS.Timeout | undefined;
  private holding = false;

  constructor(readonly lockPath: string) {
    const fp = chooseFlockProvider().provider;
    this.backend = fp ? 'flock' : 'lockfile';
    if (fp) this.flock = new FlockBackend(fp);
    this.ownerPath = `${lockPath}.owner`;
    this.owner = new LockfileBackend(this.ownerPath, { announce: false, staleMs: LEASE_MS });
  }

  /** One non-blocking attempt. True when this object holds the lock (also when it already did). */
  tryAcquire(): boolean {
    if (this.holding) return true;
    ensureDir(path.dirname(this.lockPath));
    if (this.flock) {
      this.fd ??= openNoFollow(this.lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT);
      if (this.fd === undefined) throw new ShipError('ERR_READ', `cannot create ${this.lockPath}`);
      if (!this.flock.tryLock(this.fd)) {
        this.closeFd();
        return false;
      }
    }
    // A lease left by a dead holder is broken by the first attempt; the second then takes it.
    let ok = false;
    try {
      ok = this.owner.tryLock() || this.owner.tryLock();
    } finally {
      if (!ok && this.flock) {
        this.flock.unlock(this.fd!);
        this.closeFd();
      }
    }
    if (!ok) return false;
    this.holding = true;
    this.refresh = setInterval(() => {
      const t = new Date();
      if (this.owner.stillHeld()) fs.utimes(this.ownerPath, t, t, () => undefined);
    }, REFRESH_MS);
    this.refresh.unref();
    return true;
  }

  /** False once the lease was taken from this holder (it was stopped for longer than 30 s). */
  held(): boolean {
    return this.holding && this.owner.stillHeld();
  }

  release(): void {
    if (this.refresh) clearInterval(this.refresh);
    this.refresh = undefined;
    if (!this.holding) return;
    this.holding = false;
    try {
      this.owner.unlock();
    } catch {
      /* taken from us meanwhile: nothing of ours to remove */
    }
    if (this.flock) {
      this.flock.unlock(this.fd!);
      this.closeFd();
    }
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = undefined;
  }
}

export type ElectionRole = 'leader' | 'standby' | 'stopped';

export interface ElectionOptions {
  /** How often a standby tries again (default 2 s). */
  retryMs?: number;
  onElected: (lock: ShipLock) => void;
  onStandby?: () => void;
  onError?: (err: unknown) => void;
}

/** Tries the lock now and then every retryMs until it wins (or stop()). */
export class Election {
  role: ElectionRole = 'stopped';
  readonly lock: ShipLock;
  private timer: NodeJS.Timeout | undefined;

  constructor(lockPath: string, private readonly o: ElectionOptions) {
    this.lock = new ShipLock(lockPath);
  }

  start(): void {
    if (this.role !== 'stopped') return;
    this.role = 'standby';
    this.attempt(true);
  }

  private attempt(first: boolean): void {
    if (this.role !== 'standby') return;
    let won = false;
    try {
      won = this.lock.tryAcquire();
    } catch (err) {
      this.o.onError?.(err);
      if (this.role !== 'standby') return; // stopped by the error handler
    }
    if (won) {
      this.role = 'leader';
      this.o.onElected(this.lock);
      return;
    }
    if (first) this.o.onStandby?.();
    this.timer = setTimeout(() => this.attempt(false), this.o.retryMs ?? 2000);
  }

  /** Releases the lock (if held) and stops trying; a standby elsewhere takes over. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.role = 'stopped';
    this.lock.release();
  }
}
