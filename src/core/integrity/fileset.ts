import * as fs from 'node:fs';
import * as path from 'node:path';
import { listRotated } from '../sink/rotation';
import { checkDir, DirTrust, openRegular } from '../sink/safefs';
import { IntegrityError, lockAll, readError } from './reader';
import { beginRead, finishOpen, forgetEpoch, rememberEpoch } from './repair/epoch';

/**
 * The set of files a reader (verify, stats, the shipper) goes through, oldest first: the rotated
 * files, then the live file. Readers never create a file to read (the lock file is skipped where it
 * cannot be made, and the report says so) and never open more than two files at once (the live fd
 * plus one rotated file), whatever the number of rotated files.
 */

/** One file of the set. */
export interface SetFile {
  path: string;
  /** Bytes to read: the live file's locked size; a rotated file's size when it was first opened. */
  size: number;
  /** False when the brief lock could not be had and the current size was used instead. */
  locked: boolean;
  /** Said in the report: how the file was read when not plainly (no lock file, removed, …). */
  note?: string;
  live: boolean;
  /** Identity pinned when listed (rotated) or opened (live); a rotated file is read only if it still is this one. */
  dev: number;
  ino: number;
  /** The file was opened once: later opens must find the same inode (so two passes read the same bytes). */
  opened?: boolean;
}

/** Opens `file` to read: no link followed, no FIFO/device/socket, owner checked (see safefs). */
export function openForRead(file: string, trust?: DirTrust): { fd: number; st: fs.Stats } {
  try {
    return openRegular(file, fs.constants.O_RDONLY, 0, trust);
  } catch (err) {
    throw readError(file, err);
  }
}

/** Checks a reader's folder (ERR_UNSAFE_DIR when others can plant files in it; ERR_NOT_FOUND when missing). */
export function checkReadDir(file: string): DirTrust {
  const dir = path.dirname(path.resolve(file));
  try {
    return checkDir(dir, 'read');
  } catch (err) {
    throw readError(file, err);
  }
}

/** Step 1 of every read, before the file is sized: the repair epoch (see repair/epoch.ts). */
function startRead(file: string): ReturnType<typeof beginRead> {
  try {
    return beginRead(file);
  } catch (err) {
    throw new IntegrityError('ERR_READ', `cannot read the repair epoch next to ${file}: ${(err as Error).message}`, err);
  }
}

/**
 * Step 2, once the fd is open and sized: never a size taken in the middle of a repair (ERR_CHANGED);
 * the epoch is remembered for the fd, so scanLines notices a repair that ran while it read.
 */
function pinEpoch(file: string, fd: number, start: ReturnType<typeof beginRead>, st: fs.Stats): void {
  const e = finishOpen(start, st);
  if ('busy' in e) throw new IntegrityError('ERR_CHANGED', `${file}: ${e.busy}`);
  rememberEpoch(fd, e.epoch);
}

/**
 * Learns, under a brief shared lock, the size of the open live file up to which every line is
 * complete. Falls back to the current size (locked=false) when the lock stays busy, and goes without
 * the lock file where it cannot be created (the note says so). The repair epoch is read before the
 * size is taken (see repair/epoch.ts).
 */
export async function snapshotLive(file: string, fd: number, timeoutMs = 2000): Promise<Pick<SetFile, 'size' | 'locked' | 'note'>> {
  const start = startRead(file); // before sizing, outside the lock (it lists the folder)
  const sized = (locked: boolean, note?: string): Pick<SetFile, 'size' | 'locked' | 'note'> => {
    const st = fs.fstatSync(fd);
    pinEpoch(file, fd, start, st);
    return { size: st.size, locked, ...(note ? { note } : {}) };
  };
  let held: Awaited<ReturnType<typeof lockAll>>;
  try {
    held = await lockAll(file, fd, timeoutMs, true);
  } catch (err) {
    if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') return sized(false);
    throw readError(file, err);
  }
  try {
    return sized(true, held.skipped ? `was read without the lock file (it could not be created: ${held.skipped})${held.backends.length ? ', under flock only' : ', without any lock'}` : undefined);
  } finally {
    held.release();
  }
}

export class FileSet {
  constructor(
    readonly files: SetFile[],
    private liveFd: number | undefined,
    private readonly trust: DirTrust,
  ) {}

  /**
   * Runs `fn` with an open fd on files[i] and closes it after (the live fd stays open until close()).
   * Returns false, without calling fn, when a rotated file is gone (retention) or is no longer the
   * file read before; its note says so.
   */
  async withFile(i: number, fn: (fd: number, f: SetFile) => Promise<void>): Promise<boolean> {
    const f = this.files[i]!;
    if (f.live) {
      await fn(this.liveFd!, f);
      return true;
    }
    let opened: { fd: number; st: fs.Stats };
    const start = startRead(f.path);
    try {
      opened = openForRead(f.path, this.trust);
    } catch (err) {
      if (err instanceof IntegrityError && err.code === 'ERR_NOT_FOUND') {
        f.note = 'was removed (retention) before it was read';
        return false;
      }
      throw err;
    }
    try {
      const { st } = opened;
      pinEpoch(f.path, opened.fd, start, st);
      if (st.ino !== f.ino || st.dev !== f.dev) {
        if (f.opened) {
          f.note = 'was replaced between two passes; read once';
          return false;
        }
        f.note = 'was replaced since it was listed (repaired?); the new file was read';
        f.ino = st.ino;
        f.dev = st.dev;
      }
      if (!f.opened) f.size = st.size;
      f.opened = true;
      await fn(opened.fd, f);
      return true;
    } finally {
      forgetEpoch(opened.fd);
      fs.closeSync(opened.fd);
    }
  }

  close(): void {
    if (this.liveFd === undefined) return;
    forgetEpoch(this.liveFd);
    try {
      fs.closeSync(this.liveFd);
    } catch {
      /* already closed */
    }
    this.liveFd = undefined;
  }
}

/**
 * The set to read, oldest first. The live file is opened and sized *first*; then the rotated files
 * are listed (names and identities, nothing opened) up to the one that is the live fd's own inode
 * under a rotated name (rotated after the snapshot: it is read as the live file, and newer files are
 * left out). So no file can slip between listing and opening the live file, and a rotation during
 * the run can neither hide, swap nor reorder files. Rotated files are opened one at a time by
 * FileSet.withFile. A missing live file is not an error when `all` finds rotated files.
 * Throws ERR_NOT_FOUND when there is nothing to read, ERR_UNSAFE_DIR / ERR_NOT_REGULAR on hostile paths.
 */
export async function openSet(file: string, all: boolean, lockTimeoutMs = 2000): Promise<FileSet> {
  const trust = checkReadDir(file);
  let live: { fd: number; st: fs.Stats } | undefined;
  try {
    live = openForRead(file, trust);
  } catch (err) {
    if (!(all && err instanceof IntegrityError && err.code === 'ERR_NOT_FOUND')) throw err;
  }
  const files: SetFile[] = [];
  try {
    const liveFile = live ? { path: file, live: true, dev: live.st.dev, ino: live.st.ino, opened: true, ...(await snapshotLive(file, live.fd, lockTimeoutMs)) } : undefined;
    if (all) {
      for (const r of listRotated(file)) {
        if (live && r.ino === live.st.ino && r.dev === live.st.dev) break;
        files.push({ path: r.path, size: r.size, locked: true, live: false, dev: r.dev, ino: r.ino });
      }
    }
    if (liveFile) files.push(liveFile);
  } catch (err) {
    if (live) {
      forgetEpoch(live.fd);
      fs.closeSync(live.fd);
    }
    throw err;
  }
  if (!files.length) throw new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
  return new FileSet(files, live?.fd, trust);
}
