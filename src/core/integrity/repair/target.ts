import * as fs from 'node:fs';
import { IntegrityError } from '../reader';
import { Owner, ownerOf } from './io';

/** The file being repaired, open read-write, and who must own what repair creates next to it. */
export interface Opened {
  fd: number;
  dev: number;
  ino: number;
  /** Set when running as root on a file of another user: quarantine and journal are given to them. */
  owner?: Owner;
}

const C = fs.constants;

function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/**
 * Opens `file` for an in-place rewrite, or says why not. Refuses symbolic links (repair never
 * replaces a link, and following one planted in a shared folder would rewrite someone else's file:
 * run it on the target itself), anything but a regular file (no FIFO hang, no device), and, unless
 * running as root, a file owned by another user (the quarantine would be ours and unreadable to
 * them). Root may repair any user's file: the file keeps its inode, owner, group and mode, and what
 * repair creates beside it is given to the file's owner. Undefined when the file does not exist
 * (for the live file: still not, half a second later).
 */
export async function openTarget(file: string, live: boolean): Promise<Opened | undefined> {
  let missing = 0;
  for (let round = 0; round < 25; round++) {
    const lst = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!lst) {
      // A rotation renames the live file and its writer recreates it a moment later: look again
      // for a while before calling it missing. A rotated file that is gone stays gone (retention).
      if (!live || ++missing > 20) return undefined;
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    if (!lst.isFile()) {
      const to = lst.isSymbolicLink() ? ` (to ${safeReadlink(file)}); run repair on the file it points to` : '';
      throw new IntegrityError('ERR_NOT_REGULAR', `${file} is ${kindOf(lst)}${to}; repair rewrites regular files only and never replaces a link`);
    }
    const euid = process.geteuid?.();
    if (euid !== undefined && euid !== 0 && lst.uid !== euid) {
      throw new IntegrityError('ERR_OWNER', `${file} belongs to uid ${lst.uid}, not to this user (uid ${euid}); run repair as its owner (or as root, which keeps the owner)`);
    }
    let fd: number;
    try {
      fd = fs.openSync(file, C.O_RDWR | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') continue; // replaced meanwhile: look again
      throw new IntegrityError('ERR_READ', `cannot open ${file} for repair: ${(err as Error).message}`, err);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.ino !== lst.ino || st.dev !== lst.dev) {
      fs.closeSync(fd);
      continue;
    }
    return { fd, dev: st.dev, ino: st.ino, owner: ownerOf(st) };
  }
  throw new IntegrityError('ERR_CHANGED', `${file} kept being replaced while repair opened it; try again`);
}

/** True while `file` still names the open file (rotation renames it; a writer may recreate it). */
export function stillAt(file: string, o: Opened): boolean {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  return !!st && st.ino === o.ino && st.dev === o.dev;
}

function safeReadlink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '?';
  }
}
