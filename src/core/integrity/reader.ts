import * as fs from 'node:fs';
import { chooseBackend, FlockBackend, loadFsExt, LockfileBackend, lockfilePath, LockMode } from '../sink/locks';
import { listRotated } from '../sink/rotation';
import { beginRead, changedSince, epochOfFd, finishOpen, forgetEpoch, RepairEpoch, rememberEpoch } from './repair/epoch';

/** One line as the reader hands it over. `bytes` is only valid during the callback (buffers are reused). */
export interface RawLine {
  line: number;
  offset: number;
  bytes: Buffer;
  /** Ended by \n (false only for the last line of the range). */
  terminated: boolean;
  /** Longer than the reader's buffer cap: `bytes` holds only its first part. */
  truncated: boolean;
  length: number;
}

export interface ScanOptions {
  /**
   * Lines longer than this are handed over cut (first 256 bytes) with truncated=true and their full
   * length; memory stays bounded whatever a line's length (default DEFAULT_BUFFER_CAP).
   */
  bufferCap?: number;
  chunkSize?: number;
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
  /** Awaited after each chunk's lines were handed over (backpressure for pipelined consumers). */
  afterChunk?: () => Promise<void> | void;
  /** Read this already-open fd (left open) instead of opening `file`: the inode that was sized. */
  fd?: number;
  /** Start here instead of at byte 0 / line 1 (`offset` must be the start of a line). */
  start?: { offset: number; line: number };
  /**
   * The repair epoch the range was sized under (see repair/epoch.ts). Checked when the scan ends:
   * ERR_CHANGED if a repair may have moved bytes meanwhile. Defaults to the epoch a snapshot
   * recorded for `fd`.
   */
  epoch?: RepairEpoch;
}

/** What a line callback may return: 'stop' ends the scan after this line; a promise is awaited. */
export type LineAction = void | 'stop' | Promise<void | 'stop'>;

/** Longest line handed over whole when the caller sets no cap: bounded memory, whatever the file holds. */
export const DEFAULT_BUFFER_CAP = 8 * 1024 * 1024;

export type IntegrityCode = 'ERR_NOT_FOUND' | 'ERR_READ' | 'ERR_LOCK_TIMEOUT' | 'ERR_CANCELLED' | 'ERR_CHANGED' | 'ERR_WRITE' | 'ERR_NOT_REGULAR' | 'ERR_OWNER';

export class IntegrityError extends Error {
  /** errno-style code of the underlying system error (ENOSPC, EACCES, …), when there is one. */
  readonly sysCode?: string;
  constructor(
    readonly code: IntegrityCode,
    message: string,
    cause?: unknown,
  ) {
    super(message);
    this.name = 'IntegrityError';
    const sys = (cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof sys === 'string') this.sysCode = sys;
  }
}

/** Carries the part of a line seen so far: at most cap+1 bytes are kept, however long it grows. */
class LineCarry {
  private parts: Buffer[] = [];
  private kept = 0;
  /** Full length so far, past the cap too. */
  len = 0;
  constructor(private readonly cap: number) {}
  add(seg: Buffer, copy: boolean): void {
    this.len += seg.length;
    if (this.kept >= this.cap + 1 || seg.length === 0) return;
    const keep = seg.subarray(0, Math.min(seg.length, this.cap + 1 - this.kept));
    this.parts.push(copy ? Buffer.from(keep) : keep);
    this.kept += keep.length;
  }
  /** The line's bytes (only the first 256 when it is over the cap), and resets. */
  take(): { bytes: Buffer; truncated: boolean; length: number } {
    const length = this.len;
    const truncated = length > this.cap;
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
    this.parts = [];
    this.kept = 0;
    this.len = 0;
    return { bytes: truncated ? all.subarray(0, 256) : all, truncated, length };
  }
  get empty(): boolean {
    return this.len === 0;
  }
}

/**
 * Streams lines of `file` in [start, end) in bounded memory (one chunk plus at most cap+1 bytes of
 * one line). Returns the number of the last line seen (0 when none).
 */
export async function scanLines(file: string, end: number, onLine: (l: RawLine) => LineAction, opts: ScanOptions = {}): Promise<number> {
  const cap = opts.bufferCap ?? DEFAULT_BUFFER_CAP;
  const chunkSize = opts.chunkSize ?? 4 * 1024 * 1024;
  let fh: fs.promises.FileHandle | undefined;
  if (opts.fd === undefined) {
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (err) {
      throw readError(file, err);
    }
  }
  const fd = opts.fd;
  const read = (buffer: Buffer, length: number, position: number): Promise<{ bytesRead: number }> =>
    fh
      ? fh.read(buffer, 0, length, position)
      : new Promise((resolve, reject) => fs.read(fd!, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))));
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, end)));
  const carry = new LineCarry(cap);
  let lineNo = (opts.start?.line ?? 1) - 1;
  let pos = opts.start?.offset ?? 0;
  let lineStart = pos;
  let stopped = false;
  const hand = async (l: RawLine): Promise<void> => {
    const r = onLine(l);
    if (r !== undefined && (r === 'stop' || (await r) === 'stop')) stopped = true;
  };
  try {
    while (pos < end && !stopped) {
      if (opts.signal?.aborted) throw new IntegrityError('ERR_CANCELLED', 'cancelled');
      let bytesRead: number;
      try {
        ({ bytesRead } = await read(buf, Math.min(buf.length, end - pos), pos));
      } catch (err) {
        throw readError(file, err);
      }
      if (bytesRead === 0) break; // shrank under us (the epoch check below says why)
      const data = buf.subarray(0, bytesRead);
      let i = 0;
      for (;;) {
        const nl = data.indexOf(10, i);
        if (nl === -1) {
          carry.add(data.subarray(i), true);
          break;
        }
        const seg = data.subarray(i, nl);
        let line: { bytes: Buffer; truncated: boolean; length: number };
        if (carry.empty) line = seg.length > cap ? { bytes: seg.subarray(0, 256), truncated: true, length: seg.length } : { bytes: seg, truncated: false, length: seg.length };
        else {
          carry.add(seg, false);
          line = carry.take();
        }
        const r = onLine({ line: ++lineNo, offset: lineStart, bytes: line.bytes, terminated: true, truncated: line.truncated, length: line.length });
        if (r !== undefined && (r === 'stop' || (await r) === 'stop')) stopped = true;
        lineStart = pos + nl + 1;
        i = nl + 1;
        if (stopped) break;
      }
      pos += bytesRead;
      opts.onProgress?.(pos);
      if (opts.afterChunk && !stopped) await opts.afterChunk();
    }
    if (!stopped && !carry.empty) {
      const line = carry.take();
      await hand({ line: ++lineNo, offset: lineStart, bytes: line.bytes, terminated: false, truncated: line.truncated, length: line.length });
    }
  } finally {
    await fh?.close();
  }
  const epoch = opts.epoch ?? (fd !== undefined ? epochOfFd(fd) : undefined);
  const changed = epoch && changedSince(epoch);
  if (changed) throw new IntegrityError('ERR_CHANGED', changed);
  return lineNo;
}

function readError(file: string, err: unknown): IntegrityError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
  if (code === 'EACCES' || code === 'EPERM') return new IntegrityError('ERR_READ', `permission denied reading ${file}`);
  return new IntegrityError('ERR_READ', `cannot read ${file}: ${(err as Error).message}`);
}

export interface HeldLocks {
  release(): void;
  backends: string[];
}

/**
 * Takes every backend's lock on `file` (flock on an fd of the file, plus the fallback's lock file),
 * retrying without blocking the thread until `timeoutMs`. `shared` asks flock for LOCK_SH.
 * Throws IntegrityError ERR_LOCK_TIMEOUT when any of them stays busy.
 */
export async function lockAll(file: string, fd: number, timeoutMs: number, shared: boolean, mode: LockMode = 'auto'): Promise<HeldLocks> {
  const fx = mode === 'lockfile' ? {} : loadFsExt();
  const flock = fx.mod ? new FlockBackend(fx.mod) : undefined;
  if (mode === 'flock' && !flock) chooseBackend('flock', file); // throws the clear "cannot load" error
  const lf = new LockfileBackend(lockfilePath(file), { announce: false });
  const t0 = Date.now();
  let haveFlock = false;
  let haveLf = false;
  let tries = 0;
  for (;;) {
    if (!haveFlock) haveFlock = flock ? flock.tryLock(fd, shared) : true;
    if (haveFlock && !haveLf) haveLf = lf.tryLock();
    if (haveFlock && haveLf) break;
    // Never sit on one lock while waiting for the other: writers of either kind keep going.
    if (haveFlock) {
      flock?.unlock(fd);
      haveFlock = false;
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw new IntegrityError('ERR_LOCK_TIMEOUT', `could not get the lock on ${file} within ${timeoutMs} ms (a writer holds it)`);
    }
    await new Promise((r) => setTimeout(r, Math.min(1 + tries++, 10)));
  }
  return {
    backends: flock ? ['flock', 'lockfile'] : ['lockfile'],
    release() {
      try {
        lf.unlock();
      } catch {
        /* reported by the counters of writers; nothing to undo here */
      }
      if (flock) flock.unlock(fd);
    },
  };
}

/** An open fd on one file of the set and the size to read it up to. */
export interface Snapshot {
  path: string;
  fd: number;
  size: number;
  /** False when the brief lock could not be had and the current size was used instead. */
  locked: boolean;
  /** The repair epoch it was sized under; scanLines checks it (ERR_CHANGED after a repair). */
  epoch?: RepairEpoch;
}

/** Step 1 of every snapshot, before the file is sized: the repair epoch (see repair/epoch.ts). */
function startRead(file: string): ReturnType<typeof beginRead> {
  try {
    return beginRead(file);
  } catch (err) {
    throw new IntegrityError('ERR_READ', `cannot read the repair epoch next to ${file}: ${(err as Error).message}`, err);
  }
}

/** Sizes an open fd after the repair epoch was read (see repair/epoch.ts): never a size from mid-repair. */
function sized(file: string, fd: number, start: ReturnType<typeof beginRead>, locked: boolean): Snapshot {
  const st = fs.fstatSync(fd);
  const e = finishOpen(start, st);
  if ('busy' in e) throw new IntegrityError('ERR_CHANGED', `${file}: ${e.busy}`);
  rememberEpoch(fd, e.epoch);
  return { path: file, fd, size: st.size, locked, epoch: e.epoch };
}

/**
 * Opens the live file and learns, under a brief shared lock, the size up to which every line is
 * complete. The fd stays open: reading it later reads the same inode even if the file is rotated
 * meanwhile. Falls back to the current size (locked=false) when the lock stays busy.
 */
export async function snapshotLive(file: string, timeoutMs = 2000): Promise<Snapshot> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  try {
    const start = startRead(file); // before sizing, outside the lock (it lists the folder)
    let held: HeldLocks;
    try {
      held = await lockAll(file, fd, timeoutMs, true);
    } catch (err) {
      if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') return sized(file, fd, start, false);
      throw err;
    }
    try {
      return sized(file, fd, start, true);
    } finally {
      held.release();
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Opens a rotated (finished) file; undefined when retention removed it first. */
export function snapshotRotated(file: string): Snapshot | undefined {
  try {
    const start = startRead(file);
    const fd = fs.openSync(file, 'r');
    try {
      return sized(file, fd, start, true);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  } catch (err) {
    if (err instanceof IntegrityError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw readError(file, err);
  }
}

export function closeSnapshots(snaps: Snapshot[]): void {
  for (const s of snaps) {
    forgetEpoch(s.fd);
    try {
      fs.closeSync(s.fd);
    } catch {
      /* already closed */
    }
  }
}

/**
 * Opens the set to read, oldest first: the live file is snapshotted *first* (fd + locked size), then
 * the rotated files are listed and opened, oldest first, up to the one that is the live fd's own
 * inode under a rotated name (rotated after the snapshot: newer files follow it and are left out).
 * No file can slip between listing and opening the live file. Throws ERR_NOT_FOUND when there is nothing to read.
 */
export async function openSet(file: string, all: boolean, lockTimeoutMs = 2000): Promise<Snapshot[]> {
  const live = fs.existsSync(file) ? await snapshotLive(file, lockTimeoutMs) : undefined;
  const out: Snapshot[] = [];
  try {
    if (all) {
      const liveSt = live ? fs.fstatSync(live.fd) : undefined;
      for (const r of listRotated(file)) {
        const snap = snapshotRotated(r.path);
        if (!snap) continue;
        const st = fs.fstatSync(snap.fd);
        if (liveSt && st.ino === liveSt.ino && st.dev === liveSt.dev) {
          // Our live snapshot was rotated since: it is read as the live file, and every file
          // rotated after it holds newer events than the snapshot — leave them out.
          fs.closeSync(snap.fd);
          break;
        }
        out.push(snap);
      }
    }
  } catch (err) {
    closeSnapshots(live ? [...out, live] : out);
    throw err;
  }
  if (live) out.push(live);
  if (!out.length) throw new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
  return out;
}
