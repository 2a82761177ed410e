import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, pwriteAll } from './io';

/**
 * The crash journal of one in-place rewrite. Layout: a JSON header padded to HEADER_BYTES, then the
 * bytes that replace [from, size) of the file — its valid lines, in order — then an 8-byte state,
 * `pending\n` until those bytes and the filler are in the file, then `applied\n`.
 * It is written as `.new`, fsynced, and renamed to `.journal`: a journal is complete or absent.
 */
export const HEADER_BYTES = 4096;
const STATE_BYTES = 8;
const PENDING = Buffer.from('pending\n');
const APPLIED = Buffer.from('applied\n');
const KIND = 'telemetry-sink.repair-journal';
/** Longest filler check: the file's last bytes before truncation, NULs and a final \n. */
const FILLER_MAX = 4096;

export interface JournalHeader {
  kind: typeof KIND;
  v: 1;
  id: string;
  /** Identity of the file being rewritten (also pinned by the `.inode` hard link). */
  dev: number;
  ino: number;
  /** First byte rewritten: the first damaged line. Bytes before it are never touched. */
  from: number;
  /** The file's size when the plan was made (the lock was held: nothing could append). */
  size: number;
  /** from + dataLen: the size once the rewrite is done. */
  newSize: number;
  dataLen: number;
  /** File name (same folder) the quarantine temp file takes once the journal is committed (absent: none). */
  quarantine?: string;
  created: string;
  pid: number;
}

export interface Journal {
  path: string;
  fd: number;
  h: JournalHeader;
  applied: boolean;
}

export function newHeader(p: Omit<JournalHeader, 'kind' | 'v' | 'created' | 'pid' | 'newSize'>): JournalHeader {
  return { kind: KIND, v: 1, ...p, newSize: p.from + p.dataLen, created: new Date().toISOString(), pid: process.pid };
}

/** Writes header and state into `.new` (data already at HEADER_BYTES), fsyncs, renames it to `journalPath`. */
export async function commitJournal(fd: number, newPath: string, journalPath: string, h: JournalHeader): Promise<void> {
  const head = Buffer.alloc(HEADER_BYTES, 0x20);
  const json = Buffer.from(JSON.stringify(h));
  if (json.length >= HEADER_BYTES) throw new Error('journal header too long');
  json.copy(head);
  head[HEADER_BYTES - 1] = 0x0a;
  await pwriteAll(fd, head, 0);
  await pwriteAll(fd, PENDING, HEADER_BYTES + h.dataLen);
  fs.fsyncSync(fd);
  fs.renameSync(newPath, journalPath);
  fsyncDir(path.dirname(journalPath));
}

/** Opens a committed journal for the file `st`; a string says why it cannot be used. */
export function openJournal(p: string, st: { dev: number; ino: number }): Journal | string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW);
    const head = Buffer.alloc(HEADER_BYTES);
    const n = fs.readSync(fd, head, 0, HEADER_BYTES, 0);
    const h = JSON.parse(head.subarray(0, n).toString('utf8').trim()) as JournalHeader;
    if (h.kind !== KIND || h.v !== 1) throw new Error('not a repair journal');
    if (h.dev !== st.dev || h.ino !== st.ino) throw new Error('it names another file');
    const size = fs.fstatSync(fd).size;
    if (size !== HEADER_BYTES + h.dataLen + STATE_BYTES || h.newSize !== h.from + h.dataLen || h.newSize >= h.size) throw new Error('its sizes do not add up');
    const state = Buffer.alloc(STATE_BYTES);
    fs.readSync(fd, state, 0, STATE_BYTES, HEADER_BYTES + h.dataLen);
    if (!state.equals(PENDING) && !state.equals(APPLIED)) throw new Error('unknown state');
    return { path: p, fd, h, applied: state.equals(APPLIED) };
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    return `journal ${path.basename(p)} cannot be used (${(err as Error).message})`;
  }
}

export async function markApplied(j: Journal): Promise<void> {
  await pwriteAll(j.fd, APPLIED, HEADER_BYTES + j.h.dataLen);
  fs.fsyncSync(j.fd);
  j.applied = true;
}

/**
 * The filler: the last bytes of [newSize, size), written before the journal says `applied` and
 * before truncating. NULs ending in \n — no writer appends NULs — so after a crash the file's bytes
 * there tell whether the truncation happened (filler still there) or not (appended lines, or
 * nothing): lines appended after a cut would have to hold NULs exactly there to look like it. With
 * a one-byte filler (a lone \n) a misreading needs an appended line starting with \n, and drops only
 * that \n. The \n keeps lines that writers append after a crash whole.
 */
export function filler(h: JournalHeader): { at: number; bytes: Buffer } {
  const len = Math.min(h.size - h.newSize, FILLER_MAX);
  const bytes = Buffer.alloc(len);
  bytes[len - 1] = 0x0a;
  return { at: h.size - len, bytes };
}
