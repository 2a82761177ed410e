/**
 * The shipper's own files (cursor, lock, salt) are opened with O_NOFOLLOW, must be regular files
 * owned by this user, are created 0600, and the cursor is replaced atomically: temp file, fsync,
 * rename (rename replaces a planted symlink itself, never its target).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ShipError } from './errors';

const { O_NOFOLLOW, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

/** Opens without following a final symlink; undefined when missing. Checks type and owner. */
export function openNoFollow(p: string, flags: number, mode = 0o600): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(p, flags | O_NOFOLLOW, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new ShipError('ERR_UNSAFE_PATH', `${p} is a symbolic link; the shipper does not follow links for its own files (remove it)`, err);
    throw new ShipError('ERR_READ', `cannot open ${p}: ${(err as Error).message}`, err);
  }
  try {
    checkOwned(p, fs.fstatSync(fd));
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

export function checkOwned(p: string, st: fs.Stats): void {
  if (!st.isFile()) throw new ShipError('ERR_UNSAFE_PATH', `${p} is not a regular file`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new ShipError('ERR_UNSAFE_PATH', `${p} belongs to another user (uid ${st.uid}); remove it or fix its owner`);
}

/** temp (0600, O_EXCL|O_NOFOLLOW) → write → fsync → rename over `p`. */
export function writeAtomic(p: string, text: string): void {
  const tmp = `${p}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, p);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new ShipError('ERR_CURSOR_WRITE', `cannot write ${p}: ${(err as Error).message}`, err);
  }
}

/** Removes temp files a killed writer of `p` left behind (call while holding the shipping lock). */
export function removeStaleTemps(p: string): number {
  const dir = path.dirname(p);
  const prefix = path.basename(p) + '.tmp-';
  let n = 0;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const full = path.join(dir, name);
    try {
      if (fs.lstatSync(full).isFile()) {
        fs.unlinkSync(full);
        n++;
      }
    } catch {
      /* gone already */
    }
  }
  return n;
}
