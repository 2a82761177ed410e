/**
 * The shipper's only door into the integrity reader and line classifier (other branches change their
 * internals; keeping every use here keeps that merge in one file). The set is opened exactly as verify
 * opens it: the live file first, sized under a brief shared lock, then the rotated files oldest first.
 */
import * as fs from 'node:fs';
import { classifyLine, excerpt, Verdict } from '../integrity/classify';
import { IntegrityError, RawLine } from '../integrity/reader';
import { FileSet, openSet } from '../integrity/fileset';
import { readToken } from '../integrity/repair/epoch';
import { readCanonicalLines, type CanonicalVisitor } from '../integrity/canonicalLines';
export { DataPicker } from '../integrity/dataPick';
export type { CanonicalFields } from '../integrity/scanner';
export type { CanonicalVisitor };
import { listRotated } from '../sink/rotation';
import { MAX_LINE_BYTES } from '../sink/envelope';
import { ShipError } from './errors';

export type { RawLine, Verdict, FileSet };
export { excerpt, MAX_LINE_BYTES };

/** One file of the set while it is open: its path, an fd, and the size to read it up to. */
export interface Snapshot {
  path: string;
  fd: number;
  size: number;
  locked: boolean;
}

function toShipError(err: unknown): unknown {
  if (!(err instanceof IntegrityError)) return err;
  if (err.code === 'ERR_CANCELLED') return new ShipError('ERR_CANCELLED', 'cancelled');
  if (err.code === 'ERR_CHANGED') return new ShipError('ERR_CHANGED', err.message, err);
  return new ShipError('ERR_READ', err.message, err);
}

/**
 * Opens the set as verify does (the live file sized first, rotated files listed with their identity
 * and opened one at a time by withShipFile); undefined when there is no file yet.
 * A "not found" while files are there (the live file renamed between the reader's look and its open)
 * is tried again: an empty set would make every cursor entry look removed.
 */
export async function openShipSet(file: string, lockTimeoutMs: number): Promise<FileSet | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openSet(file, true, lockTimeoutMs);
    } catch (err) {
      const missing = err instanceof IntegrityError && err.code === 'ERR_NOT_FOUND';
      if (!missing) throw toShipError(err);
      const filesThere = fs.existsSync(file) || listRotated(file).length > 0;
      if (!filesThere) return undefined;
      if (attempt >= 5) throw new ShipError('ERR_READ', `${file} and its rotated files kept vanishing while being opened`, err);
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/**
 * The set's repair epoch token ('none' before the first repair; see integrity/repair/epoch.ts). Read
 * before the set is opened (sized): a repair after this read changes it, so a cursor stamped with it
 * is never newer than the bytes it points into.
 */
export function epochToken(file: string): string {
  try {
    return readToken(file);
  } catch (err) {
    throw new ShipError('ERR_READ', `cannot read the repair epoch next to ${file}: ${(err as Error).message}`, err);
  }
}

export function closeShipSet(set: FileSet | undefined): void {
  set?.close();
}

/**
 * Runs `fn` with file i of the set open (a rotated file is opened now and closed after; it must still
 * be the file listed). False when it is gone (retention) or was replaced since it was first opened.
 */
export async function withShipFile(set: FileSet, i: number, fn: (snap: Snapshot) => Promise<void> | void): Promise<boolean> {
  try {
    return await set.withFile(i, async (fd, f) => fn({ path: f.path, fd, size: f.size, locked: f.locked }));
  } catch (err) {
    throw toShipError(err);
  }
}

export interface ScanFrom {
  start: number;
  /** Lines before `start` (so line numbers match verify's). */
  firstLine: number;
  signal?: AbortSignal;
  afterChunk?: () => Promise<void> | void;
}

/**
 * Hands over every line of the snapshot from `start` (a line start) to its size, in line-aligned
 * chunks of ~1 MiB (verify's reader): lines verify's header scanner takes (crc-verified canonical
 * envelopes) go to `v.canonical` with their fields; the rest (or what it declines) to `v.other` as
 * scanLines hands them over. `fast: false` sends every line to `other`.
 */
export async function scanCanonicalFrom(snap: Snapshot, o: ScanFrom & { fast?: boolean }, v: CanonicalVisitor): Promise<void> {
  try {
    await readCanonicalLines({ fd: snap.fd, path: snap.path, start: o.start, end: snap.size, firstLine: o.firstLine, maxLine: MAX_LINE_BYTES, fast: o.fast, signal: o.signal, afterChunk: o.afterChunk }, v);
  } catch (err) {
    throw toShipError(err);
  }
}

/** verify's verdict on one line: a `problem` (verify's code) means it is not shipped. */
export function judge(l: RawLine): Verdict {
  return classifyLine(l, MAX_LINE_BYTES);
}
