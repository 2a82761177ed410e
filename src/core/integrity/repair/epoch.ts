import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { epochPath, familyOf, listArtifacts, readDir, setPath } from './names';

/**
 * What readers (verify, stats, the shipper) need to notice a repair. Repair rewrites a file in place,
 * and it promises, for every byte it changes that already existed:
 *   (1) before it, a hard link `.…repair-<id>.inode` to that file exists (until the repair is finished
 *       or, after a crash, recovered), and
 *   (2) before it, and after (1), the family's epoch token (`.<live>.repair-epoch`) was replaced.
 * A reader reads the token, then lists the links, then sizes its file (see beginRead / finishOpen);
 * a link to its file means a repair is running or was interrupted. After reading, a changed token
 * means a repair may have moved bytes under it. Either way: ERR_CHANGED, never false problems.
 */
export interface RepairEpoch {
  family: string;
  token: string;
  dev: number;
  ino: number;
}

export interface ReadStart {
  family: string;
  token: string;
  /** `${dev}:${ino}` of every file a repair is working on (or was killed working on). */
  busy: Map<string, string>;
}

/** The family's token; 'none' before the first repair. Never follows a link, never blocks (a FIFO planted there). */
export function readToken(live: string): string {
  let fd: number;
  try {
    fd = fs.openSync(epochPath(live), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error(`${epochPath(live)} is not a regular file`);
    const b = Buffer.alloc(64);
    return b.subarray(0, fs.readSync(fd, b, 0, 64, 0)).toString('latin1').trim() || 'empty';
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces the token (atomically: a new file renamed over the old one). */
export function bumpToken(live: string, owner?: { uid: number; gid: number }): void {
  const p = epochPath(live);
  const tmp = `${p}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.writeSync(fd, randomBytes(16).toString('hex') + '\n');
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, p);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  starts.delete(live); // this process's next read must not reuse the token it just replaced
}

/** Removes temp files of token bumps that a killed process left (a bump takes microseconds). */
export function cleanTokenTemps(live: string, now = Date.now()): void {
  const prefix = path.basename(epochPath(live)) + '.';
  for (const name of readDir(path.dirname(live))) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const p = path.join(path.dirname(live), name);
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st && now - st.mtimeMs > 60_000) fs.rmSync(p, { force: true });
  }
}

/**
 * A read start taken moments ago is as good as a new one: its token was read before its listing,
 * both before any file the reader sizes now, which is all the argument needs (a repair since then
 * changes the token, which the reader sees when it ends). It saves a folder listing per rotated file.
 */
const REUSE_MS = 250;
const starts = new Map<string, { start: ReadStart; at: number }>();

/** Step 1 of a read: the token, then the files under repair. Call before sizing the file. */
export function beginRead(file: string): ReadStart {
  const family = familyOf(file);
  const now = Date.now();
  const cached = starts.get(family);
  if (cached && now - cached.at >= 0 && now - cached.at < REUSE_MS) return cached.start;
  const token = readToken(family);
  const busy = new Map<string, string>();
  for (const s of listArtifacts(family)) {
    if (!s.kinds.has('inode')) continue;
    const st = fs.lstatSync(setPath(s, 'inode'), { throwIfNoEntry: false });
    if (st?.isFile()) busy.set(`${st.dev}:${st.ino}`, s.base);
  }
  const start = { family, token, busy };
  starts.set(family, { start, at: now });
  return start;
}

/** Step 2, once the file is open and sized: its epoch, or why it cannot be read now. */
export function finishOpen(start: ReadStart, st: { dev: number; ino: number }): { epoch: RepairEpoch } | { busy: string } {
  const under = start.busy.get(`${st.dev}:${st.ino}`);
  if (under !== undefined) return { busy: `a repair of ${under} is running or was interrupted; run repair to finish it, then read again` };
  return { epoch: { family: start.family, token: start.token, dev: st.dev, ino: st.ino } };
}

/** Step 3, after reading: undefined when no repair can have changed what was read. */
export function changedSince(e: RepairEpoch): string | undefined {
  let now: string;
  try {
    now = readToken(e.family);
  } catch {
    now = 'unreadable';
  }
  return now === e.token ? undefined : `a repair changed ${path.basename(e.family)} or its rotated files while they were read; read again`;
}

// Epochs of the fds that snapshots opened, so scanLines checks them without every reader passing them.
const byFd = new Map<number, RepairEpoch>();

export function rememberEpoch(fd: number, e: RepairEpoch): void {
  byFd.set(fd, e);
}

export function forgetEpoch(fd: number): void {
  byFd.delete(fd);
}

/** The epoch of a snapshot fd, if that fd still refers to the same file (fd numbers are reused). */
export function epochOfFd(fd: number): RepairEpoch | undefined {
  const e = byFd.get(fd);
  if (!e) return undefined;
  try {
    const st = fs.fstatSync(fd);
    if (st.dev === e.dev && st.ino === e.ino) return e;
  } catch {
    /* closed */
  }
  byFd.delete(fd);
  return undefined;
}
