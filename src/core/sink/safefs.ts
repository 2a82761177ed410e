import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SinkError, errnoCode, describe } from './errors';

/**
 * Opening files in a folder other local users might reach. Threat: another user who owns or can
 * write the events folder plants `events.jsonl -> ~/.bashrc` or a FIFO, and the victim's writer
 * follows it. Defences, used by the appender, the lock files, verify/stats, repair and the shipper:
 *  - the folder is checked first (checkDir): writers need it owned by them and writable by nobody
 *    else (sticky + owned by them is fine); readers need it writable by nobody but its owner;
 *  - every open uses O_NOFOLLOW (a symlink as the last component fails) and O_NONBLOCK (a FIFO
 *    cannot block the open), then fstat must say "regular file" (ERR_NOT_REGULAR otherwise) owned by
 *    a trusted uid;
 *  - files meant to be new are created with O_EXCL; small files are replaced by write-then-rename.
 * On platforms without uids (Windows) the ownership checks are skipped.
 */
const C = fs.constants;
export const O_NOFOLLOW = C.O_NOFOLLOW ?? 0;
const O_NONBLOCK = C.O_NONBLOCK ?? 0;
const S_ISVTX = 0o1000;

export type Purpose = 'write' | 'read';

/** What the folder check learnt; pass it to openRegular so the file's owner is checked too. */
export interface DirTrust {
  dir: string;
  /** Owner of the folder (-1 where uids do not exist). */
  owner: number;
  purpose: Purpose;
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : -1);

/**
 * Refuses (ERR_UNSAFE_DIR, naming the folder and the fix) a folder another local user could plant
 * files in. Writers: owned by the current user, not writable by group/others unless sticky.
 * Readers: writable by nobody but its owner (unless sticky); any owner (someone else's data may be
 * read, and every file is then opened without following links and checked for its owner).
 * Other errors (ENOENT, EACCES) are thrown as they come.
 */
export function checkDir(dir: string, purpose: Purpose): DirTrust {
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new SinkError('ERR_UNSAFE_DIR', `${dir} is not a folder`);
  const me = euid();
  if (me < 0) return { dir, owner: -1, purpose };
  const shared = (st.mode & 0o022) !== 0;
  const sticky = (st.mode & S_ISVTX) !== 0;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  const verb = purpose === 'write' ? 'write in' : 'read from';
  if (purpose === 'write' && st.uid !== me) {
    throw new SinkError('ERR_UNSAFE_DIR', `refusing to ${verb} ${dir}: the folder belongs to uid ${st.uid}, not to you (uid ${me}), who could plant links there. Fix: use a folder you own (the default data folder is created for you) or chown it to yourself`);
  }
  if (shared && !sticky) {
    const g = (st.mode & 0o020) !== 0;
    const who = g && (st.mode & 0o002) !== 0 ? 'its group and other users' : g ? 'its group' : 'other users';
    throw new SinkError('ERR_UNSAFE_DIR', `refusing to ${verb} ${dir}: it is writable by ${who} (mode ${mode}), who could plant links or files there. Fix: chmod go-w '${dir}' (or use a folder only you can write)`);
  }
  return { dir, owner: st.uid, purpose };
}

/** Whether a file owned by `uid` may be used under this folder check. */
function trustedOwner(uid: number, trust: DirTrust | undefined): boolean {
  const me = euid();
  if (me < 0 || !trust) return true;
  if (trust.purpose === 'write') return uid === me;
  return uid === me || uid === 0 || uid === trust.owner;
}

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** ERR_NOT_REGULAR for what lstat finds at `file` (after an open failed with ELOOP/ENXIO/EISDIR). */
function notRegular(file: string, cause: unknown): SinkError {
  let what = 'not a regular file';
  try {
    what = kindOf(fs.lstatSync(file));
  } catch {
    /* gone meanwhile */
  }
  const hint = what === 'a symbolic link' ? '; links are not followed: point the path at the real file' : '; the events file must be a regular file';
  return new SinkError('ERR_NOT_REGULAR', `${file} is ${what}${hint}`, cause);
}

/**
 * Opens `file` with O_NOFOLLOW|O_NONBLOCK added to `flags` and makes sure it is a regular file
 * (owned by a trusted uid when `trust` is given). Throws SinkError ERR_NOT_REGULAR / ERR_UNSAFE_DIR,
 * or the raw OS error (ENOENT, EACCES, …) for the caller to word.
 */
export function openRegular(file: string, flags: number, mode = 0o600, trust?: DirTrust): { fd: number; st: fs.Stats } {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'ENXIO' || code === 'EISDIR' || code === 'EOPNOTSUPP') throw notRegular(file, err);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new SinkError('ERR_NOT_REGULAR', `${file} is ${kindOf(st)}; the events file must be a regular file`);
    if (!trustedOwner(st.uid, trust)) {
      throw new SinkError('ERR_UNSAFE_DIR', `refusing ${file}: it belongs to uid ${st.uid}, not to you (uid ${euid()})${trust?.purpose === 'read' ? ' nor to the folder\'s owner' : ''}; another user may have planted it. Fix: remove it, or use a folder only you can write`);
    }
    return { fd, st };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Flags for the live events file: append, read for the fence check, create 0600. */
export const LIVE_FLAGS = C.O_APPEND | C.O_CREAT | C.O_RDWR;
/** Flags for a file that must not exist yet. */
export const NEW_FLAGS = C.O_CREAT | C.O_EXCL | C.O_WRONLY;

/**
 * Reads a small file (lock record, marker) without following a link or blocking on a FIFO.
 * Returns undefined when it does not exist; `text` undefined when it is not a regular file.
 * `st` is the file's own (lstat) identity either way.
 */
export function readSmall(file: string, max = 4096): { st: fs.Stats; text?: string } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, C.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    return st ? { st } : undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { st };
    const buf = Buffer.alloc(Math.min(max, st.size));
    const n = buf.length ? fs.readSync(fd, buf, 0, buf.length, 0) : 0;
    return { st, text: buf.subarray(0, n).toString('utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` with `data` by writing a new 0600 temp file (O_EXCL, no link followed) and
 * renaming it over: a symlink planted at `file` is replaced, never written through.
 */
export function replaceFile(file: string, data: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  const fd = fs.openSync(tmp, NEW_FLAGS | O_NOFOLLOW, 0o600);
  try {
    try {
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** The message of an OS error without the path Node appends (callers name the file themselves). */
export function sysMessage(err: unknown): string {
  return describe(err).replace(/, \w+ '.*'$/, '');
}

/**
 * Creates `file` holding 32 fresh random bytes as hex, atomically: a complete 0600 temp file (made
 * with O_EXCL, never through a symlink, fsynced) hard-linked into place, which never replaces an
 * existing file, so racing processes read either nothing or one whole secret. False when another
 * process made it first; the temp file is always removed; other OS errors are thrown.
 */
export function linkNewSecret(file: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
    try {
      fs.writeSync(fd, randomBytes(32).toString('hex') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
