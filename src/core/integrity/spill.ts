/**
 * Spill files for verify's bounded-memory structures (id fingerprints, session records): private
 * (0600, created exclusively) and unlinked at once, so nothing is left behind even if the process dies.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export function openUnlinkedTemp(prefix: string): number {
  const p = path.join(os.tmpdir(), `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(p, 'wx+', 0o600);
  fs.unlinkSync(p);
  return fd;
}

export function writeAllAt(fd: number, buf: Uint8Array, pos: number): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off, pos + off);
}

/** Reads buf.length bytes at pos (fewer only at the end of the file); returns the count. */
export function readFullAt(fd: number, buf: Uint8Array, pos: number): number {
  let got = 0;
  while (got < buf.length) {
    const m = fs.readSync(fd, buf, got, buf.length - got, pos + got);
    if (m === 0) break;
    got += m;
  }
  return got;
}
