import * as fs from 'node:fs';
import { chooseBackend, FlockBackend, LockfileBackend, lockfilePath, LockMode } from '../sink/locks';
import { chooseFlockProvider } from '../sink/flockProviders';
import { SinkError } from '../sink/errors';
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
  /** Lines longer than this are handed over cut (first 256 bytes) with truncated=true. */
  bufferCap?: number;
  chunkSize?: number;
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
  /** Awaited after each chunk's lines were handed over (backpressure for pipelined consumers). */
  afterChunk?: () => Promise<void> | void;
  /** Read this already-open fd (left open) instead of opening `file`: the inode that was sized. */
  fd?: number;
  /** Byte offset to start at (a line start); offsets handed over stay absolute. Default 0. */
  start?: number;
}

export type IntegrityCode = 'ERR_NOT_FOUND' | 'ERR_READ' | 'ERR_LOCK_TIMEOUT' | 'ERR_CANCELLED' | 'ERR_CHANGED' | 'ERR_WRITE' | 'ERR_NOT_REGULAR' | 'ERR_UNSAFE_DIR';

export class IntegrityError extends Error {
  /** errno-style code of the underlying system error, when there is one. */
  sysCode?: string;
  constructor(
    readonly code: IntegrityCode,
    message: string,
  ) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/**
 * Streams lines of `file` in [0, end) in constant memory (one chunk plus at most one line).
 * Returns the number of lines seen.
 */
export async function scanLines(file: string, end: number, onLine: (l: RawLine) => void, opts: ScanOptions = {}): Promise<number> {
  const cap = opts.bufferCap ?? Infinity;
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
  const buf = Buffer.allocUnsafe(chunkSize);
  let parts: Buffer[] = [];
  let partsLen = 0;
  let lineLen = 0; // full length of the current (carried) line, even past the cap
  let lineNo = 0;
  let lineStart = opts.start ?? 0;
  let pos = lineStart;
  try {
    while (pos < end) {
      if (opts.signal?.aborted) throw new IntegrityError('ERR_CANCELLED', 'cancelled');
      let bytesRead: number;
      try {
        ({ bytesRead } = await read(buf, Math.min(chunkSize, end - pos), pos));
      } catch (err) {
        throw readError(file, err);
      }
      if (bytesRead === 0) break; // shrank under us
      const data = buf.subarray(0, bytesRead);
      let i = 0;
      for (;;) {
        const nl = data.indexOf(10, i);
        if (nl === -1) {
          const rest = data.subarray(i);
          if (rest.length) {
            lineLen += rest.length;
            if (partsLen < cap) {
              const keep = rest.subarray(0, Math.min(rest.length, cap - partsLen + 1));
              parts.push(Buffer.from(keep));
              partsLen += keep.length;
            }
          }
          break;
        }
        const seg = data.subarray(i, nl);
        const total = lineLen + seg.length;
        let bytes: Buffer;
        if (parts.length === 0) bytes = seg;
        else {
          if (partsLen < cap) {
            const keep = seg.subarray(0, Math.min(seg.length, cap - partsLen + 1));
            parts.push(keep);
            partsLen += keep.length;
          }
          bytes = Buffer.concat(parts, partsLen);
        }
        const truncated = total > cap;
        onLine({ line: ++lineNo, offset: lineStart, bytes: truncated ? bytes.subarray(0, 256) : bytes, terminated: true, truncated, length: total });
        parts = [];
        partsLen = 0;
        lineLen = 0;
        lineStart = pos + nl + 1;
        i = nl + 1;
      }
      pos += bytesRead;
      opts.onProgress?.(pos);
      if (opts.afterChunk) await opts.afterChunk();
    }
    if (lineLen > 0) {
      const bytes = Buffer.concat(parts, partsLen);
      const truncated = lineLen > cap;
      onLine({ line: ++lineNo, offset: lineStart, bytes: truncated ? bytes.subarray(0, 256) : bytes, terminated: false, truncated, length: lineLen });
    }
  } finally {
    await fh?.close();
  }
  return lineNo;
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
