import * as fs from 'node:fs';
import { chooseBackend, FlockBackend, loadFsExt, LockfileBackend, lockfilePath, LockMode } from '../sink/locks';
import { listRotated } from '../sink/rotation';

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
  /** Start here (a line start) instead of 0; lines are numbered from `firstLine` + 1 (the shipper resumes). */
  start?: number;
  firstLine?: number;
}

export class IntegrityError extends Error {
  constructor(
    readonly code: 'ERR_NOT_FOUND' | 'ERR_READ' | 'ERR_LOCK_TIMEOUT' | 'ERR_CANCELLED' | 'ERR_CHANGED' | 'ERR_WRITE',
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
  let lineNo = opts.firstLine ?? 0;
  let pos = opts.start ?? 0;
  let lineStart = pos;
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
  return lineNo - (opts.firstLine ?? 0);
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
    const held = await lockAll(file, fd, timeoutMs, true);
    try {
      return { path: file, fd, size: fs.fstatSync(fd).size, locked: true };
    } finally {
      held.release();
    }
  } catch (err) {
    if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') return { path: file, fd, size: fs.fstatSync(fd).size, locked: false };
    fs.closeSync(fd);
    throw err;
  }
}

/** Opens a rotated (finished) file; undefined when retention removed it first. */
export function snapshotRotated(file: string): Snapshot | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    return { path: file, fd, size: fs.fstatSync(fd).size, locked: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw readError(file, err);
  }
}

export function closeSnapshots(snaps: Snapshot[]): void {
  for (const s of snaps) {
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
