import * as fs from 'node:fs';
import { classifyLine, LineProblem } from '../classify';
import { IntegrityError, scanLines } from '../reader';
import type { RepairStep } from './apply';
import { beginRead } from './epoch';
import { OutFile } from './io';
import { RepairLock } from './lock';
import { QuarantineWriter } from './quarantine';
import { Opened, stillAt } from './target';
import type { LockMode } from '../../sink/locks';

export interface ScanContext {
  file: string;
  live: string;
  maxLine: number;
  timeoutMs: number;
  mode: LockMode;
  signal?: AbortSignal;
  hook: (step: RepairStep) => void;
}

export interface LineAt {
  offset: number;
  line: number;
}

/** What the scan without the exclusive lock learned: where checking must resume under the lock. */
export interface Hint {
  /** The family's repair epoch before the scan: if it changed by the time the lock is held, the hint is void. */
  token: string;
  start: LineAt;
}

const TOP: LineAt = { offset: 0, line: 1 };

/**
 * Pass 1, without blocking writers: sizes the file under a brief shared lock (every line below that
 * size is complete), then looks for the first damaged line in it. Lines before that point were valid
 * and cannot change except by another repair, which the epoch token reveals. 'moved': the path names
 * another file now (rotated); start over.
 */
export async function findHint(c: ScanContext, o: Opened): Promise<Hint | 'moved'> {
  const start = epochRead(c.live, beginRead);
  if (start.busy.has(`${o.dev}:${o.ino}`)) return { token: start.token, start: TOP }; // recovered under the lock first
  let size: number;
  try {
    const shared = await RepairLock.acquire(c.live, o.fd, { timeoutMs: Math.min(c.timeoutMs, 2000), shared: true, mode: c.mode, signal: c.signal });
    try {
      if (!stillAt(c.file, o)) return 'moved';
      size = fs.fstatSync(o.fd).size;
    } finally {
      shared.release();
    }
  } catch (err) {
    if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') return { token: start.token, start: TOP };
    throw err;
  }
  const next = (await firstDamage(c, o, TOP, size, true)) ?? TOP;
  c.hook('scanned');
  return { token: start.token, start: next };
}

/**
 * Reads the family's repair epoch (via `read`): a token path that cannot be read (a folder or FIFO
 * planted there, EACCES) is ERR_READ naming it, never an internal error; nothing has changed yet.
 */
export function epochRead<T>(live: string, read: (live: string) => T): T {
  try {
    return read(live);
  } catch (err) {
    throw new IntegrityError('ERR_READ', `cannot read the repair epoch next to ${live}: ${(err as Error).message}; nothing was changed`, err);
  }
}

/**
 * The first damaged line in [start, size), or (with `orEnd`) where the valid lines end; undefined when
 * every line is valid.
 */
export async function firstDamage(c: ScanContext, o: Opened, start: LineAt, size: number, orEnd = false): Promise<LineAt | undefined> {
  let found: LineAt | undefined;
  let end = start;
  await scanLines(c.file, size, (l) => {
    if (classifyLine(l, c.maxLine).problem) {
      found = { offset: l.offset, line: l.line };
      return 'stop';
    }
    end = { offset: l.offset + l.length + 1, line: l.line + 1 };
    return undefined;
  }, { fd: o.fd, bufferCap: c.maxLine, start: start.offset, firstLine: start.line - 1, signal: c.signal });
  return found ?? (orEnd ? end : undefined);
}

export interface SplitResult {
  dataLen: number;
  linesKept: number;
  linesMoved: number;
  bytesMoved: number;
  byReason: Partial<Record<LineProblem, number>>;
}

/**
 * Pass 2, under the exclusive lock: from the first damaged line to the end, valid lines go (in order)
 * into the journal's data — the bytes that will replace that part of the file — and damaged ones
 * into the quarantine temp file, raw bytes kept.
 */
export async function split(c: ScanContext, o: Opened, first: LineAt, size: number, journal: OutFile, q: QuarantineWriter): Promise<SplitResult> {
  const r: SplitResult = { dataLen: 0, linesKept: 0, linesMoved: 0, bytesMoved: 0, byReason: {} };
  const NL = Buffer.from('\n');
  await scanLines(c.file, size, (l) => {
    const v = classifyLine(l, c.maxLine);
    if (!v.problem) {
      r.linesKept++;
      r.dataLen += l.length + 1;
      const a = journal.write(l.bytes); // in order: the second write may not start before the first ends
      return a ? a.then(() => journal.write(NL)) : journal.write(NL);
    }
    if (r.linesMoved++ === 0) c.hook('split-partial');
    r.bytesMoved += l.length + (l.terminated ? 1 : 0);
    r.byReason[v.problem] = (r.byReason[v.problem] ?? 0) + 1;
    return q.add(l, v);
  }, { fd: o.fd, bufferCap: c.maxLine, start: first.offset, firstLine: first.line - 1, signal: c.signal });
  await journal.flush();
  return r;
}
