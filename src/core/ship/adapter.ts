/**
 * The shipper's only door into the integrity reader and line classifier (other branches change their
 * internals; keeping every use here keeps that merge in one file). The set is opened exactly as verify
 * opens it: the live file first, sized under a brief shared lock, then the rotated files oldest first.
 */
import * as fs from 'node:fs';
import { classifyLine, excerpt, Verdict } from '../integrity/classify';
import { closeSnapshots, IntegrityError, openSet, RawLine, scanLines, Snapshot } from '../integrity/reader';
import { listRotated } from '../sink/rotation';
import { ShipError } from './errors';

export type { RawLine, Snapshot, Verdict };
export { excerpt };

/** Lines longer than this are `too_long` (verify's default cap). */
export const MAX_LINE_BYTES = 1024 * 1024;

function toShipError(err: unknown): unknown {
  if (!(err instanceof IntegrityError)) return err;
  if (err.code === 'ERR_CANCELLED') return new ShipError('ERR_CANCELLED', 'cancelled');
  return new ShipError('ERR_READ', err.message, err);
}

/**
 * Opens the rotated set and the live file (fds + sizes), oldest first; [] when there is no file yet.
 * A "not found" while files are there (the live file renamed between the reader's look and its open)
 * is tried again: an empty set would make every cursor entry look removed.
 */
export async function openShipSet(file: string, lockTimeoutMs: number): Promise<Snapshot[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openSet(file, true, lockTimeoutMs);
    } catch (err) {
      const missing = err instanceof IntegrityError && err.code === 'ERR_NOT_FOUND';
      if (!missing) throw toShipError(err);
      const filesThere = fs.existsSync(file) || listRotated(file).length > 0;
      if (!filesThere) return [];
      if (attempt >= 5) throw new ShipError('ERR_READ', `${file} and its rotated files kept vanishing while being opened`, err);
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

export function closeShipSet(snaps: Snapshot[]): void {
  closeSnapshots(snaps);
}

export interface ScanFrom {
  start: number;
  /** Lines before `start` (so line numbers match verify's). */
  firstLine: number;
  chunkSize?: number;
  signal?: AbortSignal;
  afterChunk?: () => Promise<void> | void;
}

/** Hands over every line of the snapshot from `start` (a line start) to its size. */
export async function scanFrom(snap: Snapshot, o: ScanFrom, onLine: (l: RawLine) => void): Promise<void> {
  try {
    await scanLines(snap.path, snap.size, onLine, { fd: snap.fd, start: o.start, firstLine: o.firstLine, bufferCap: MAX_LINE_BYTES, chunkSize: o.chunkSize, signal: o.signal, afterChunk: o.afterChunk });
  } catch (err) {
    throw toShipError(err);
  }
}

/** verify's verdict on one line: a `problem` (verify's code) means it is not shipped. */
export function judge(l: RawLine): Verdict {
  return classifyLine(l, MAX_LINE_BYTES);
}
