/**
 * One shipper per (events file set, destination): an exclusive flock on `<file>.ship-<key>.lock`
 * beside the events file (the flock backend of sink/locks.ts, only non-blocking attempts). The kernel
 * drops it when the holder exits or dies, so a standby takes over on its next attempt. The CLI and
 * every VS Code window use the same lock file, so they exclude each other too.
 *
 * Where flock cannot load, a lock file (`….lock.owner`, O_EXCL) stands in: taken over at once when its
 * holder's pid is dead on this host, or when its holder stopped refreshing it for 30 s; a holder
 * that finds it taken stops before its next batch (`held()`), and a batch it had in flight is at worst
 * a duplicate that FINAL collapses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlockBackend, loadFsExt, LockfileBackend } from '../sink/locks';
import { ensureDir } from '../sink/paths';
import { ShipError } from './errors';
import { openNoFollow } from './safeFs';

const LEASE_MS = 30_000;
const REFRESH_MS = 5_000;

export class ShipLock {
  readonly backend: 'flock' | 'lockfile';
  private fd: number | undefined;
  private flock: FlockBackend | undefined;
  private owner: LockfileBackend | undefined;
  private refresh: NodeJS.Timeout | undefined;
  private holding = false;

  constructor(readonly lockPath: string) {
    const fx = loadFsExt();
    this.backend = fx.mod ? 'flock' : 'lockfile';
    if (fx.mod) this.flock = new FlockBackend(fx.mod);
    else this.owner = new LockfileBackend(`${lockPath}.owner`, { announce: false, staleMs: LEASE_MS });
  }

  /** One non-blocking attempt. True when this object holds the lock (also when it already did). */
  tryAcquire(): boolean {
    if (this.holding) return true;
    ensureDir(path.dirname(this.lockPath));
    if (this.flock) {
      this.fd ??= openNoFollow(this.lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT);
      if (this.fd === undefined) throw new ShipError('ERR_READ', `cannot create ${this.lockPath}`);
      this.holding = this.flock.tryLock(this.fd);
      if (!this.holding) this.closeFd();
      return this.holding;
    }
    this.holding = this.owner!.tryLock();
    if (this.holding) {
      const p = `${this.lockPath}.owner`;
      this.refresh = setInterval(() => {
        const t = new Date();
        if (this.owner!.stillHeld()) fs.utimes(p, t, t, () => undefined);
      }, REFRESH_MS);
      this.refresh.unref();
    }
    return this.holding;
  }

  held(): boolean {
    if (!this.holding) return false;
    return this.flock ? true : this.owner!.stillHeld();
  }

  release(): void {
    if (this.refresh) clearInterval(this.refresh);
    this.refresh = undefined;
    if (!this.holding) return;
    this.holding = false;
    if (this.flock) {
      this.flock.unlock(this.fd!);
      this.closeFd();
    } else {
      try {
        this.owner!.unlock();
      } catch {
        /* taken from us meanwhile: nothing of ours to remove */
      }
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
