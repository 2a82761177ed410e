import * as fs from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { SinkError, errnoCode, describe } from './errors';
import type { LockMode } from '../lists';
import { chooseFlockProvider, FlockProvider } from './flockProviders';
import type { FlockProviderName } from '../lists';
import { NEW_FLAGS, O_NOFOLLOW, readSmall, replaceFile } from './safefs';

/**
 * Two lock backends behind one interface.
 *  - flock: BSD flock(2) on the JSONL file itself, called by whichever provider loads in this runtime
 *    (fs-ext, else koffi: see flockProviders.ts). Same protocol as flock(1) and Python's fcntl.flock,
 *    so all of them exclude each other. Only non-blocking attempts are ever made.
 *  - lockfile: a portable fallback for runtimes where no flock provider loads. An O_EXCL `<file>.lock`
 *    holding {pid, host, token}; stale when its holder is dead (same host) or older than staleMs;
 *    broken by renaming it to a unique name and checking that what moved is what was judged stale.
 */
export type { LockMode } from '../lists';
export type BackendName = 'flock' | 'lockfile';

export interface LockBackend {
  readonly name: BackendName;
  /** flock only: who makes the flock call (fs-ext or koffi). */
  readonly provider?: FlockProviderName;
  /** One non-blocking attempt. True when held. Throws SinkError for anything but "busy". */
  tryLock(fd: number, shared?: boolean): boolean;
  unlock(fd: number): void;
  /** True when the lock is bound to the open file (flock): closing/reopening the fd drops it. */
  readonly boundToFd: boolean;
  /** Counters worth reporting (stale locks broken, compromises seen). */
  readonly counters: { staleBroken: number; compromised: number };
  /** flock only: counters of the companion lock file taken in mixed mode. */
  readonly mixedCounters?: { staleBroken: number; compromised: number };
  /** Whether the lock is provably still ours (lock files can be broken by others; flock cannot). */
  stillHeld?(): boolean;
}

/**
 * Mixed backends. Writers that cannot flock announce themselves by keeping `<file>.lockfile-users`
 * fresh (touched at least every MARKER_TOUCH_MS while they write). A flock writer that finds the
 * marker fresher than MARKER_FRESH_MS also takes the lock file, so both kinds exclude each other.
 * The marker records since when it is fresh; every lockfile writer waits until MARKER_GRACE_MS after
 * that before its first write, so a flock writer that looked before has finished its batch and
 * looks again (at most MARKER_RECHECK_MS later) before its next one.
 */
export const MARKER_FRESH_MS = 10 * 60_000;
export const MARKER_TOUCH_MS = 60_000;
export const MARKER_GRACE_MS = 1_000;
/** flock writers look at the marker at most this often; must stay well under MARKER_GRACE_MS. */
export const MARKER_RECHECK_MS = 250;
/**
 * A lock file or marker whose mtime is further than this in the future is stale (planted, or the
 * clock stepped back): a negative age must not make it fresh forever.
 */
export const FUTURE_SLACK_MS = 2_000;
/**
 * A lock file with no readable record is stale once older than this: a holder writes its record
 * right after creating the file, so only a crash (or a full disk, in older versions) leaves it empty.
 */
export const EMPTY_LOCK_GRACE_MS = 1_000;
export function markerPath(file: string): string {
  return file + '.lockfile-users';
}

export class FlockBackend implements LockBackend {
  readonly name = 'flock' as const;
  readonly boundToFd = true;
  readonly counters = { staleBroken: 0, compromised: 0 };
  private companion: LockfileBackend | undefined;
  private companionHeld = false;
  readonly provider: FlockProviderName;
  /** With `file`, honours the mixed-backend marker of that file (see MARKER_FRESH_MS). */
  constructor(private readonly flockImpl: FlockProvider, private readonly file?: string, opts: LockfileOptions = {}) {
    this.provider = flockImpl.name;
    if (file) this.companion = new LockfileBackend(lockfilePath(file), { ...opts, announce: false });
  }
  tryLock(fd: number, shared = false): boolean {
    if (!this.rawLock(fd, shared)) return false;
    if (this.companion && this.markerFresh()) {
      let ok = false;
      try {
        ok = this.companion.tryLock();
      } finally {
        if (!ok) this.rawUnlock(fd);
      }
      if (!ok) return false;
      this.companionHeld = true;
    }
    return true;
  }
  unlock(fd: number): void {
    try {
      if (this.companionHeld) {
        this.companionHeld = false;
        this.companion!.unlock();
      }
    } finally {
      this.rawUnlock(fd);
    }
  }
  stillHeld(): boolean {
    return !this.companionHeld || this.companion!.stillHeld();
  }
  /** Counters of the companion lock file (mixed mode) show up as this backend's. */
  get mixedCounters(): { staleBroken: number; compromised: number } | undefined {
    return this.companion?.counters;
  }
  private markerSeenAt = -Infinity;
  private markerWasFresh = false;
  private markerFresh(): boolean {
    const now = Date.now();
    if (now - this.markerSeenAt >= MARKER_RECHECK_MS) {
      this.markerSeenAt = now;
      const st = fs.statSync(markerPath(this.file!), { throwIfNoEntry: false });
      this.markerWasFresh = !!st && now - st.mtimeMs <= MARKER_FRESH_MS;
    }
    return this.markerWasFresh;
  }
  /**
   * One non-blocking flock. EWOULDBLOCK/EAGAIN: busy (false). EINTR: tried again at once, a few
   * times, then reported busy so the caller's backoff retries. Anything else is a SinkError whose
   * sysCode is the errno name.
   */
  private rawLock(fd: number, shared: boolean): boolean {
    for (let attempt = 0; ; attempt++) {
      const err = this.flockImpl.flock(fd, shared ? 'shnb' : 'exnb');
      if (!err) return true;
      const code = errnoCode(err);
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return false;
      if (code === 'EINTR') {
        if (attempt < 3) continue;
        return false;
      }
      throw new SinkError('ERR_LOCK_UNAVAILABLE', `flock via ${this.provider} failed: ${describe(err)}`, err);
    }
  }
  private rawUnlock(fd: number): void {
    // Closing the fd releases it anyway; an unlock error on a live fd has never been seen.
    this.flockImpl.flock(fd, 'un');
  }
}

export interface LockfileOptions {
  /** A lock older than this is stale even if its holder looks alive (other host, pid reuse). */
  staleMs?: number;
  /** Keep the mixed-backend marker fresh (writers: yes; repair/verify, which also take flock: no). */
  announce?: boolean;
  /** Test hook: runs between judging a lock stale and renaming it (to force the breakers' race). */
  beforeBreak?: () => void;
}

interface LockRecord {
  pid: number;
  host: string;
  token: string;
  ts: number;
}

export function lockfilePath(file: string): string {
  return file + '.lock';
}

export class LockfileBackend implements LockBackend {
  readonly name = 'lockfile' as const;
  readonly boundToFd = false;
  readonly counters = { staleBroken: 0, compromised: 0 };
  private token: string | undefined;
  private readonly staleMs: number;
  private readonly host = os.hostname();
  private readonly announce: boolean;
  private lastTouch = -Infinity;
  private graceUntil = 0;
  constructor(readonly lockPath: string, opts: LockfileOptions = {}) {
    this.staleMs = opts.staleMs ?? 10_000;
    this.announce = opts.announce ?? true;
    this.beforeBreak = opts.beforeBreak;
  }
  private readonly beforeBreak?: () => void;

  /** Keeps the marker fresh; after a missing/stale marker, waits out the grace period. */
  private announceSelf(now: number): boolean {
    if (now - this.lastTouch >= MARKER_TOUCH_MS) {
      this.lastTouch = now;
      const marker = this.lockPath.replace(/\.lock$/, '') + '.lockfile-users';
      try {
        // Never through a link, never blocking on a FIFO: lstat identity, O_NOFOLLOW read.
        const cur = readSmall(marker);
        const age = cur ? now - cur.st.mtimeMs : Infinity;
        if (cur?.text === undefined || age > MARKER_FRESH_MS - 5_000 || age < -FUTURE_SLACK_MS) {
          // Missing, stale, from the future or not a regular file: flock writers may not be taking
          // the lock file. Revive it (a new file renamed over the old name, so a planted link is
          // replaced rather than written through), and record since when it is fresh, so every
          // lockfile writer (not only this one) waits the grace.
          replaceFile(marker, JSON.stringify({ since: now }));
          this.graceUntil = now + MARKER_GRACE_MS;
        } else {
          if (age > MARKER_TOUCH_MS) {
            const t = new Date(now);
            fs.lutimesSync(marker, t, t);
          }
          // Fresh already: wait out the grace of whoever revived it (unreadable → a full grace).
          let since = now;
          try {
            const v = (JSON.parse(cur.text) as { since?: unknown }).since;
            if (typeof v === 'number' && v <= now) since = v;
          } catch {
            /* written by an older version or mid-write: be conservative */
          }
          this.graceUntil = Math.max(this.graceUntil, since + MARKER_GRACE_MS);
        }
      } catch (err) {
        throw new SinkError('ERR_LOCK_UNAVAILABLE', `cannot write the lockfile-users marker ${marker}: ${describe(err)}`, err);
      }
    }
    return now >= this.graceUntil;
  }

  tryLock(): boolean {
    if (this.announce && !this.announceSelf(Date.now())) return false;
    const token = randomBytes(8).toString('hex');
    let fd: number;
    try {
      fd = fs.openSync(this.lockPath, NEW_FLAGS | O_NOFOLLOW, 0o600);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') {
        this.breakIfStale();
        return false;
      }
      throw new SinkError('ERR_LOCK_UNAVAILABLE', `cannot create lock file ${this.lockPath}: ${describe(err)}`, err);
    }
    try {
      const rec: LockRecord = { pid: process.pid, host: this.host, token, ts: Date.now() };
      fs.writeSync(fd, JSON.stringify(rec));
    } catch (err) {
      // A full disk: never leave an empty lock file behind to block everyone else.
      fs.closeSync(fd);
      fs.rmSync(this.lockPath, { force: true });
      throw new SinkError('ERR_LOCK_UNAVAILABLE', `cannot write lock file ${this.lockPath}: ${describe(err)}`, err);
    }
    fs.closeSync(fd);
    this.token = token;
    return true;
  }

  unlock(): void {
    const mine = this.token;
    this.token = undefined;
    if (!mine) return;
    const rec = readRecord(this.lockPath);
    if (!rec || rec.token !== mine) {
      // Somebody judged our lock stale and broke it while we held it.
      this.counters.compromised++;
      throw new SinkError('ERR_LOCK_COMPROMISED', `lock file ${this.lockPath} was taken from this process while it held it`);
    }
    try {
      fs.unlinkSync(this.lockPath);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new SinkError('ERR_LOCK_UNAVAILABLE', `cannot remove lock file: ${describe(err)}`, err);
    }
  }

  /**
   * Judges the current lock; breaks it when stale with a rename only one process can win, then
   * checks that what moved is exactly what was judged: same inode, mtime, size and bytes. (The inode
   * alone is not enough: a lock file created right after another was unlinked reuses its inode.)
   */
  breakIfStale(now = Date.now()): boolean {
    const cur = readSmall(this.lockPath);
    if (!cur) return false; // gone already: the next attempt may win
    const { st, text } = cur;
    const rec = text === undefined ? undefined : parseRecord(text);
    const age = now - st.mtimeMs;
    let stale = age > this.staleMs || age < -FUTURE_SLACK_MS;
    if (!stale && !rec && age > EMPTY_LOCK_GRACE_MS) stale = true;
    if (!stale && rec && rec.host === this.host && rec.pid !== process.pid && !pidAlive(rec.pid)) stale = true;
    if (!stale) return false;
    const aside = `${this.lockPath}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
    this.beforeBreak?.();
    try {
      fs.renameSync(this.lockPath, aside);
    } catch {
      return false; // someone else moved it first
    }
    const moved = readSmall(aside);
    const same = !!moved && moved.st.ino === st.ino && moved.st.mtimeMs === st.mtimeMs && moved.st.size === st.size && moved.text === text;
    if (same) {
      fs.rmSync(aside, { force: true });
      this.counters.staleBroken++;
      return true;
    }
    // We moved a fresh lock that another process took after the stale one was broken: put it back
    // unless the slot was refilled meanwhile (link fails with EEXIST rather than replacing).
    try {
      fs.linkSync(aside, this.lockPath);
    } catch {
      this.counters.compromised++;
    }
    fs.rmSync(aside, { force: true });
    return false;
  }

  /** True while the lock file still holds this process's token (checked right before writing). */
  stillHeld(): boolean {
    const rec = this.token ? readRecord(this.lockPath) : undefined;
    return !!rec && rec.token === this.token;
  }
}

function readRecord(p: string): LockRecord | undefined {
  try {
    const text = readSmall(p)?.text;
    return text === undefined ? undefined : parseRecord(text);
  } catch {
    return undefined;
  }
}

function parseRecord(raw: string): LockRecord | undefined {
  try {
    const r = JSON.parse(raw) as LockRecord;
    if (typeof r.pid === 'number' && typeof r.token === 'string') return r;
  } catch {
    /* empty or partly written */
  }
  return undefined;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export interface ChosenBackend {
  backend: LockBackend;
  /** Why this backend (e.g. the fs-ext load error that forced the fallback). */
  reason: string;
}

/**
 * auto: flock through the first provider that loads (fs-ext, koffi), else the lock file.
 * flock: the same chain, but an error instead of the lock file. lockfile: the lock file.
 */
export function chooseBackend(mode: LockMode, file: string, opts: LockfileOptions = {}): ChosenBackend {
  if (mode === 'lockfile') return { backend: new LockfileBackend(lockfilePath(file), opts), reason: 'requested' };
  const fp = chooseFlockProvider();
  if (fp.provider) return { backend: new FlockBackend(fp.provider, file, opts), reason: mode === 'flock' ? `${fp.reason} (requested)` : fp.reason };
  if (mode === 'flock') throw new SinkError('ERR_LOCK_UNAVAILABLE', `lock backend "flock" requested but ${fp.reason}`);
  return { backend: new LockfileBackend(lockfilePath(file), opts), reason: `fallback: ${fp.reason}` };
}
