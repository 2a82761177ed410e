import * as fs from 'node:fs';
import { chooseBackend, FlockBackend, LockfileBackend, lockfilePath, LockMode } from '../sink/locks';
import { chooseFlockProvider } from '../sink/flockProviders';
import { SinkError } from '../sink/errors';
import { changedSince, epochOfFd, RepairEpoch } from './repair/epoch';
import { backoff } from '../sink/backoff';

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
  /** Start here (a line start) instead of 0; lines are numbered from `firstLine` + 1 (the shipper resumes). */
  start?: number;
  firstLine?: number;
  /**
   * The repair epoch the range was sized under (see repair/epoch.ts). Checked when the scan ends
   * and before each afterChunk: ERR_CHANGED if a repair may have moved bytes meanwhile. Defaults to the epoch the file set
   * recorded for `fd`.
   */
  epoch?: RepairEpoch;
}

/** What a line callback may return: 'stop' ends the scan after this line; a promise is awaited. */
export type LineAction = void | 'stop' | Promise<void | 'stop'>;

/** Longest line handed over whole when the caller sets no cap: bounded memory, whatever the file holds. */
export const DEFAULT_BUFFER_CAP = 8 * 1024 * 1024;

export type IntegrityCode = 'ERR_NOT_FOUND' | 'ERR_READ' | 'ERR_LOCK_TIMEOUT' | 'ERR_CANCELLED' | 'ERR_CHANGED' | 'ERR_WRITE' | 'ERR_NOT_REGULAR' | 'ERR_UNSAFE_DIR' | 'ERR_OWNER';

export class IntegrityError extends Error {
  /** errno-style code of the underlying system error (ENOSPC, EACCES, …), when there is one. */
  sysCode?: string;
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

/** Positional reads of `file` through its own handle, or through `fd` (which the caller closes). */
async function positionalReader(file: string, fd: number | undefined): Promise<{ read: (b: Buffer, length: number, position: number) => Promise<{ bytesRead: number }>; close: () => Promise<void> }> {
  if (fd !== undefined) {
    const read = (buffer: Buffer, length: number, position: number): Promise<{ bytesRead: number }> =>
      new Promise((resolve, reject) => fs.read(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))));
    return { read, close: async () => undefined };
  }
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    throw readError(file, err);
  }
  return { read: (buffer, length, position) => fh.read(buffer, 0, length, position), close: () => fh.close() };
}

/**
 * Streams lines of `file` in [start, end) in bounded memory (one chunk plus at most cap+1 bytes of
 * one line). Returns the number of the last line seen (0 when none).
 */
export async function scanLines(file: string, end: number, onLine: (l: RawLine) => LineAction, opts: ScanOptions = {}): Promise<number> {
  const cap = opts.bufferCap ?? DEFAULT_BUFFER_CAP;
  const chunkSize = opts.chunkSize ?? 4 * 1024 * 1024;
  const { read, close } = await positionalReader(file, opts.fd);
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, end)));
  const carry = new LineCarry(cap);
  let lineNo = opts.firstLine ?? 0;
  let pos = opts.start ?? 0;
  let lineStart = pos;
  let stopped = false;
  const epoch = opts.epoch ?? (opts.fd !== undefined ? epochOfFd(opts.fd) : undefined);
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
      if (opts.afterChunk && !stopped) await throwIfChanged(epoch, opts.afterChunk);
    }
    if (!stopped && !carry.empty) {
      const line = carry.take();
      await hand({ line: ++lineNo, offset: lineStart, bytes: line.bytes, terminated: false, truncated: line.truncated, length: line.length });
    }
  } finally {
    await close();
  }
  throwIfChanged(epoch);
  return lineNo - (opts.firstLine ?? 0);
}

/**
 * ERR_CHANGED when a repair may have moved bytes since the epoch was taken; else runs `then`. Checked
 * before each afterChunk too, not only at the end: the consumer acts on what it was handed (the
 * shipper sends it), so only ever on lines read before a repair began to move bytes.
 */
/** ERR_CHANGED when a repair may have moved bytes since `epoch`; else runs `then`. */
export function throwIfChanged(epoch: RepairEpoch | undefined, then?: () => Promise<void> | void): Promise<void> | void {
  const changed = epoch && changedSince(epoch);
  if (changed) throw new IntegrityError('ERR_CHANGED', changed);
  return then?.();
}

/**
 * Words any failure to open or read `file` as an IntegrityError with a stable code: the refusals of
 * safefs (ERR_NOT_REGULAR, ERR_UNSAFE_DIR) keep theirs, OS errors become ERR_NOT_FOUND / ERR_READ
 * with the errno in `sysCode`.
 */
export function readError(file: string, err: unknown): IntegrityError {
  if (err instanceof IntegrityError) return err;
  if (err instanceof SinkError && (err.code === 'ERR_NOT_REGULAR' || err.code === 'ERR_UNSAFE_DIR')) return new IntegrityError(err.code, err.message);
  const code = (err as NodeJS.ErrnoException).code;
  let e: IntegrityError;
  if (code === 'ENOENT' || code === 'ENOTDIR') e = new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
  else if (code === 'EACCES' || code === 'EPERM') e = new IntegrityError('ERR_READ', `permission denied reading ${file}`);
  else e = new IntegrityError('ERR_READ', `cannot read ${file}: ${(err as Error).message}`);
  if (typeof code === 'string') e.sysCode = code;
  return e;
}

export interface HeldLocks {
  release(): void;
  backends: string[];
  /** Set when a shared (reader's) lock went without the lock file: why (e.g. EROFS). */
  skipped?: string;
}

/** Why a reader may go on without the lock file: it cannot be created here (nothing else is wrong). */
const READER_SKIPS = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);

/**
 * Takes every backend's lock on `file` (flock on an fd of the file, plus the fallback's lock file),
 * retrying without blocking the thread until `timeoutMs`. `shared` asks flock for LOCK_SH.
 * A shared lock (readers) goes on without the lock file when it cannot be created (read-only file
 * system, a folder the reader cannot write, a full disk) and says so in `skipped`.
 * Throws IntegrityError ERR_LOCK_TIMEOUT when any of them stays busy.
 */
export async function lockAll(file: string, fd: number, timeoutMs: number, shared: boolean, mode: LockMode = 'auto'): Promise<HeldLocks> {
  const fp = mode === 'lockfile' ? undefined : chooseFlockProvider().provider;
  const flock = fp ? new FlockBackend(fp) : undefined;
  if (mode === 'flock' && !flock) chooseBackend('flock', file); // throws the clear "cannot load" error
  const lf = new LockfileBackend(lockfilePath(file), { announce: false });
  const t0 = Date.now();
  let haveFlock = false;
  let haveLf = false;
  let skipped: string | undefined;
  let tries = 0;
  for (;;) {
    if (!haveFlock) haveFlock = flock ? flock.tryLock(fd, shared) : true;
    if (haveFlock && !haveLf) {
      try {
        haveLf = lf.tryLock();
      } catch (err) {
        const sys = err instanceof SinkError ? err.sysCode : undefined;
        if (!shared || !sys || !READER_SKIPS.has(sys)) {
          flock?.unlock(fd);
          throw err;
        }
        skipped = sys;
        haveLf = true;
      }
    }
    if (haveFlock && haveLf) break;
    // Never sit on one lock while waiting for the other: writers of either kind keep going.
    if (haveFlock) {
      flock?.unlock(fd);
      haveFlock = false;
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw new IntegrityError('ERR_LOCK_TIMEOUT', `could not get the lock on ${file} within ${timeoutMs} ms (a writer holds it)`);
    }
    await backoff(++tries);
  }
  const backends = [...(flock ? ['flock'] : []), ...(skipped ? [] : ['lockfile'])];
  return {
    backends,
    ...(skipped ? { skipped } : {}),
    release() {
      try {
        if (!skipped) lf.unlock();
      } catch {
        /* reported by the counters of writers; nothing to undo here */
      }
      if (flock) flock.unlock(fd);
    },
  };
}
