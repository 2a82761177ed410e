import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { LineProblem } from './classify';
import { IntegrityError } from './reader';
import { LockMode } from '../sink/locks';
import { placeQuarantine, RepairStep, runJournal, Target } from './repair/apply';
import { cleanTokenTemps, readToken } from './repair/epoch';
import { closeQuietly, createPrivate, IO_CHUNK, ioError, OutFile, unlinkQuietly } from './repair/io';
import { commitJournal, HEADER_BYTES, newHeader } from './repair/journal';
import { RepairLock } from './repair/lock';
import { ArtifactKind, artifactPath, familyOf, legacyLeftovers, quarantinePath } from './repair/names';
import { QuarantineWriter } from './repair/quarantine';
import { abandon, RecoverContext, recoverFamily, recoverOwn } from './repair/recover';
import { epochRead, findHint, firstDamage, Hint, LineAt, ScanContext, split, SplitResult } from './repair/scan';
import { openTarget, Opened, stillAt } from './repair/target';

export { rebuild, rebuildTo, QuarantineRecord } from './repair/quarantine';
export type { RepairStep } from './repair/apply';

export interface RepairOptions {
  file: string;
  /** The live file of the family (lock file, epoch); default: `file`, or the live name of a rotated one. */
  live?: string;
  lockTimeoutMs?: number;
  maxLineBytes?: number;
  lock?: LockMode;
  signal?: AbortSignal;
  /** Test hook: called at each named step (tests kill the process at each one). */
  testHook?: (step: RepairStep) => void;
  /** Test knob: bytes per copy step (small values make every copy take many steps). */
  ioChunkBytes?: number;
}

export interface RepairResult {
  file: string;
  /** Nothing was damaged: the file was left untouched. */
  clean: boolean;
  /** -1 when clean (not counted). */
  linesKept: number;
  linesMoved: number;
  bytesKept: number;
  bytesMoved: number;
  byReason: Partial<Record<LineProblem, number>>;
  quarantine?: string;
  /** A rotated file that retention removed before repair reached it. */
  removed?: boolean;
  /** What killed repairs had left and this one finished or cleaned. */
  recovered: string[];
}

type Ctx = ScanContext & RecoverContext;

/**
 * Lossless repair, in place. Under every backend's exclusive lock, the part of the file from the
 * first damaged line on is rewritten on the same inode: its valid lines move down over the damaged
 * ones (which go, raw, to `<stem>.quarantine-<stamp>-<hex><ext>`) and the file is cut to its new
 * length. A crash journal written first makes a killed repair finishable at any point by the next
 * one. The inode never changes, so a writer that opened the file earlier — ours, or a seed-style
 * Python writer that flocks after opening — always appends to the live file, never to a dead copy.
 * README ("repair") states what it holds and assumes.
 */
export async function repair(opts: RepairOptions): Promise<RepairResult> {
  const file = path.resolve(opts.file);
  const live = opts.live ? path.resolve(opts.live) : familyOf(file);
  const c: Ctx = {
    file,
    live,
    maxLine: opts.maxLineBytes ?? 1024 * 1024,
    timeoutMs: opts.lockTimeoutMs ?? 5000,
    mode: opts.lock ?? 'auto',
    signal: opts.signal,
    hook: opts.testHook ?? (() => undefined),
    chunk: opts.ioChunkBytes ?? IO_CHUNK,
  };
  const res: RepairResult = { file, clean: true, linesKept: 0, linesMoved: 0, bytesKept: 0, bytesMoved: 0, byReason: {}, recovered: [] };
  res.recovered.push(...(await recoverFamily(c)));
  for (let round = 0; round < 10; round++) {
    const o = await openTarget(file, file === live);
    if (!o) {
      if (file === live) throw new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
      res.removed = true; // retention removed this rotated file first
      return res;
    }
    try {
      const hint = await findHint(c, o);
      if (hint === 'moved') continue;
      const lock = await exclusive(c, o);
      if (!lock) continue;
      try {
        c.hook('locked');
        await underLock(c, o, lock, hint, res);
        return res;
      } finally {
        lock.release();
      }
    } finally {
      closeQuietly(o.fd);
    }
  }
  throw new IntegrityError('ERR_CHANGED', `${file} kept being rotated or replaced while repair tried to lock it; try again`);
}

async function exclusive(c: Ctx, o: Opened): Promise<RepairLock | undefined> {
  const lock = await RepairLock.acquire(c.live, o.fd, { timeoutMs: c.timeoutMs, shared: false, mode: c.mode, signal: c.signal }).catch((err: unknown) => {
    if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') throw new IntegrityError('ERR_LOCK_TIMEOUT', `repair refused: ${err.message}; nothing was changed`);
    throw err;
  });
  // Our fd must still be the file at the path (a rotation may have renamed it while we waited).
  if (stillAt(c.file, o)) return lock;
  lock.release();
  return undefined;
}

async function underLock(c: Ctx, o: Opened, lock: RepairLock, hint: Hint, res: RepairResult): Promise<void> {
  res.recovered.push(...(await recoverOwn(c, o, lock)));
  for (const p of legacyLeftovers(c.file)) {
    unlinkQuietly(p);
    res.recovered.push(`removed ${path.basename(p)}, left by a killed repair of an earlier version`);
  }
  cleanTokenTemps(c.live);
  // The hint holds only if no repair touched the family since it was taken.
  const start: LineAt = res.recovered.length || epochRead(c.live, readToken) !== hint.token ? { offset: 0, line: 1 } : hint.start;
  const size = fs.fstatSync(o.fd).size;
  const first = await firstDamage(c, o, start, size);
  if (!first) {
    res.linesKept = -1; // not counted on the fast path
    return;
  }
  if ((await rewrite(c, o, lock, first, size, res)) === 'gone') {
    // Retention removed (or a user moved) the file before repair could pin it; nothing was changed.
    if (c.file === c.live) throw new IntegrityError('ERR_NOT_FOUND', `${c.file} was removed while repair held its lock; nothing was changed`);
    res.removed = true;
  }
}

function targetFor(c: Ctx, o: Opened, lock: RepairLock, id: string): Target {
  const p = (kind: ArtifactKind): string => artifactPath(c.file, id, kind);
  return { live: c.live, fd: o.fd, dev: o.dev, ino: o.ino, owner: o.owner, lock, paths: { link: p('inode'), journal: p('journal'), next: p('new'), qtmp: p('quarantine') }, hook: c.hook, chunk: c.chunk };
}

/**
 * Pins the file with the `.inode` link, splits [first, size) into journal data and quarantine,
 * commits the journal (the point of no return), places the quarantine, applies the journal.
 * Before the commit any failure removes every artifact and leaves the file untouched; after it,
 * the journal stays for the next repair. 'gone': the file vanished before it could be pinned.
 */
async function rewrite(c: Ctx, o: Opened, lock: RepairLock, first: LineAt, size: number, res: RepairResult): Promise<'gone' | undefined> {
  const id = randomBytes(6).toString('hex');
  const t = targetFor(c, o, lock, id);
  try {
    fs.linkSync(c.file, t.paths.link); // first: pins the inode and tells readers a repair is at work
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw ioError(`repair needs a hard link next to ${c.file} for its crash journal, and could not make one; nothing was changed`, err);
  }
  let jfd: number | undefined;
  let committed = false;
  try {
    if (!stillAt(t.paths.link, o)) throw new IntegrityError('ERR_CHANGED', `${c.file} was replaced by another file while repair held its lock; nothing was changed`);
    c.hook('linked');
    jfd = createPrivate(t.paths.next, o.owner);
    const s = await splitInto(c, o, t, jfd, first, size);
    const h = newHeader({ id, dev: o.dev, ino: o.ino, from: first.offset, size, dataLen: s.dataLen, quarantine: path.basename(quarantinePath(c.file, id)) });
    lock.assertHeld('commit its journal');
    await commitJournal(jfd, t.paths.next, t.paths.journal, h);
    committed = true;
    c.hook('committed');
    const placed = placeQuarantine(t, h);
    c.hook('quarantined');
    Object.assign(res, { clean: false, quarantine: placed, linesKept: first.line - 1 + s.linesKept, linesMoved: s.linesMoved, bytesKept: first.offset + s.dataLen, bytesMoved: s.bytesMoved, byReason: s.byReason });
    const j = { path: t.paths.journal, fd: jfd, h, applied: false };
    jfd = undefined; // runJournal closes it
    await runJournal(t, j);
    return undefined;
  } catch (err) {
    closeQuietly(jfd);
    if (!committed) {
      abandon(t);
      throw ioError('repair failed; the file is untouched', err);
    }
    const code = err instanceof IntegrityError ? err.code : 'ERR_WRITE';
    throw new IntegrityError(code, `repair of ${c.file} stopped after committing its journal (${(err as Error).message}); run repair again to finish it (readers report ERR_CHANGED until then)`, err);
  }
}

/** Valid lines of [first, size) into the journal fd (after its header), damaged ones into the fsynced quarantine temp. */
async function splitInto(c: Ctx, o: Opened, t: Target, jfd: number, first: LineAt, size: number): Promise<SplitResult> {
  const qfd = createPrivate(t.paths.qtmp, o.owner);
  try {
    const qout = new OutFile(qfd);
    const jout = new OutFile(jfd, HEADER_BYTES);
    const s = await split(c, o, first, size, jout, new QuarantineWriter(qout, o.fd, c.chunk));
    await qout.flush();
    fs.fsyncSync(qfd);
    c.hook('split');
    if (first.offset + s.dataLen + s.bytesMoved !== size || jout.written !== s.dataLen) {
      throw new IntegrityError('ERR_CHANGED', `read ${first.offset + s.dataLen + s.bytesMoved} bytes of ${size}: the file changed under the lock; nothing was changed`);
    }
    return s;
  } finally {
    closeQuietly(qfd);
  }
}
