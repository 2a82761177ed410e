import * as fs from 'node:fs';
import { chooseBackend, FlockBackend, LockfileBackend, lockfilePath, LockMode } from '../../sink/locks';
import { chooseFlockProvider } from '../../sink/flockProviders';
import { IntegrityError } from '../reader';
import { backoff } from '../../sink/backoff';

/**
 * Repair's hold on one file: flock on the file's own inode (what our flock writers, Python's
 * fcntl.flock and flock(1) take) plus the family's lock file `<live>.lock` (what lockfile writers
 * take), both at once. Unlike a writer's hold it can last seconds, so while held it keeps the lock
 * file's mtime fresh (a lock file older than 10 s is judged stale and broken by writers), and it can
 * tell whether the lock file is still its own before each irreversible step.
 * (Like reader.ts's lockAll, which offers neither; both wait with the sink's backoff policy.)
 */
export class RepairLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private constructor(
    private readonly fd: number,
    private readonly flock: FlockBackend | undefined,
    private readonly lf: LockfileBackend,
  ) {}

  static async acquire(live: string, fd: number, o: { timeoutMs: number; shared: boolean; mode: LockMode; signal?: AbortSignal }): Promise<RepairLock> {
    const fp = o.mode === 'lockfile' ? undefined : chooseFlockProvider().provider;
    if (o.mode === 'flock' && !fp) attempt(live, () => chooseBackend('flock', live) !== undefined); // the clear "cannot load" error, coded
    const flock = fp ? new FlockBackend(fp) : undefined;
    const lf = new LockfileBackend(lockfilePath(live), { announce: false });
    const t0 = Date.now();
    for (let tries = 0; ; tries++) {
      if (o.signal?.aborted) throw new IntegrityError('ERR_CANCELLED', 'cancelled');
      let haveFlock = attempt(live, () => (flock ? flock.tryLock(fd, o.shared) : true));
      // Never sit on one lock while waiting for the other: writers of either kind keep going.
      if (haveFlock && !attempt(live, () => lf.tryLock(), () => flock?.unlock(fd))) {
        flock?.unlock(fd);
        haveFlock = false;
      }
      if (haveFlock) break;
      if (Date.now() - t0 >= o.timeoutMs) {
        throw new IntegrityError('ERR_LOCK_TIMEOUT', `could not get the lock on ${live} within ${o.timeoutMs} ms (a writer holds it)`);
      }
      // As eagerly as writers poll: a repair that polled more slowly than 8 writers would hardly
      // ever find both locks free at once.
      await backoff(tries);
    }
    const held = new RepairLock(fd, flock, lf);
    held.timer = setInterval(() => held.refresh(), 1000);
    held.timer.unref();
    return held;
  }

  /** True while the lock file still carries our token (flock cannot be taken from a live process). */
  stillHeld(): boolean {
    return !this.released && this.lf.stillHeld();
  }

  /** Throws unless the lock is still ours: called before every step that cannot be undone. */
  assertHeld(what: string): void {
    if (!this.stillHeld()) throw new IntegrityError('ERR_CHANGED', `the lock file ${this.lf.lockPath} was taken from this repair (stopped for over 10 s?) before it could ${what}`);
  }

  private refresh(): void {
    if (!this.stillHeld()) return;
    try {
      const now = new Date();
      fs.utimesSync(this.lf.lockPath, now, now);
    } catch {
      /* the next assertHeld reports a lost lock */
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    try {
      this.lf.unlock();
    } catch {
      /* taken from us: reported by assertHeld before anything irreversible */
    }
    this.flock?.unlock(this.fd);
  }
}

/** One try-lock call; a failure other than "busy" (EROFS, EACCES, …) becomes a coded error. */
function attempt(live: string, fn: () => boolean, undo?: () => void): boolean {
  try {
    return fn();
  } catch (err) {
    undo?.();
    const sys = (err as { sysCode?: string }).sysCode ?? (err as NodeJS.ErrnoException).code;
    throw new IntegrityError('ERR_WRITE', `cannot take the lock on ${live}: ${(err as Error).message}`, { code: sys });
  }
}
