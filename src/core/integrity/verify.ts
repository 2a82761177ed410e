import * as fs from 'node:fs';
import * as os from 'node:os';
import type { LineProblem } from './classify';
import { chunkBufferSize, readLineChunks } from './chunks';
import { confirmDuplicateIds } from './dupIds';
import { PacketPool } from './pool';
import { Materializer } from './problems';
import { FileSet, openSet } from './fileset';
import { MAX_LINE_BYTES } from '../sink/envelope';
import { Tally, Totals } from './tally';

export type ProblemCode = LineProblem | 'lost' | 'duplicate' | 'out_of_order' | 'duplicate_id' | 'bad_drop_notice';
export type WarningCode = 'ts_backwards';

export interface Problem {
  file: string;
  line: number;
  offset: number;
  code: ProblemCode | WarningCode;
  message: string;
  excerpt?: string;
  sid?: string;
  seq?: number;
}

/** `fast`: crc-verified canonical lines are checked by the header scanner; `deep`: every line is parsed. */
export type VerifyMode = 'fast' | 'deep';

export interface VerifyOptions {
  file: string;
  /** Also the rotated siblings, oldest first, then the live file. */
  all?: boolean;
  maxProblems?: number;
  maxLineBytes?: number;
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /**
   * Worker threads for line classification (default 0: in-process). Faster on an idle machine,
   * at the cost of a few MB of buffers and a V8 heap per worker.
   */
  workers?: number;
  /** Parse every line (JSON.parse + schema), never the fast scanner. Same problems, slower. */
  deep?: boolean;
  /** Sessions tracked in memory before the rest are tracked on disk (tests lower it). */
  sessionsInMemory?: number;
}

export interface FileSummary {
  path: string;
  /** Bytes checked: up to the locked size for the live file. */
  checkedBytes: number;
  lines: number;
  /** False when the brief lock could not be had and the current size was used instead. */
  locked: boolean;
  /** Bytes appended after the locked size while verifying (being written; not checked). */
  beingWritten: number;
  /** How the file was read when not plainly (without the lock file, removed by retention, replaced, …). */
  note?: string;
}

export interface VerifyReport {
  version: 1;
  clean: boolean;
  /** Which checks ran (see VerifyMode). */
  mode: VerifyMode;
  files: FileSummary[];
  totals: Totals;
  sessions: number;
  timeSpan: { first?: string; last?: string };
  types: Record<string, number>;
  lockBackends: Record<string, number>;
  problems: Problem[];
  problemsTotal: number;
  warnings: Problem[];
  elapsedMs: number;
  megabytesPerSecond: number;
  /** Worker threads used (0 = in-process). */
  parallel: number;
}

const DEFAULT_MAX_LINE = MAX_LINE_BYTES;
/** Duplicate ids rank after every scan-time and end-of-session problem. */
const DUP_ID_RANK = 2 ** 51;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Streams the file(s) once in bounded memory: fixed read buffers, duplicate-id fingerprints and
 * sessions past the in-memory limit spill to unlinked temp files; a second pass confirms
 * duplicate-id candidates.
 */
export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = Date.now();
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
  const maxProblems = opts.maxProblems ?? 100;
  // Open everything first (live file first, see openSet): rotated files are complete; the live
  // file is read up to its locked size, through the fd that was sized.
  const set = await openSet(opts.file, !!opts.all, opts.lockTimeoutMs ?? 2000);
  const tally = new Tally(maxProblems, opts.sessionsInMemory);
  try {
    const { files, parallel } = await scanAll(set, tally, opts, maxLine);
    const sessions = tally.ledger.finish();
    await duplicateIds(set, tally, opts, maxLine);
    const m = new Materializer(tally.files, maxLine, set);
    const problems = await m.all(tally.problems.list());
    const warnings = await m.all(tally.warnings.list());
    return finishReport(tally, { mode: opts.deep ? 'deep' : 'fast', files, parallel, sessions, problems, warnings, t0 }, set);
  } finally {
    tally.dispose();
    set.close();
  }
}

/** Reads every file of the set once; rotated files are opened one at a time (bounded fds). */
async function scanAll(set: FileSet, tally: Tally, opts: VerifyOptions, maxLine: number): Promise<{ files: FileSummary[]; parallel: number }> {
  const totalBytes = set.files.reduce((a, r) => a + r.size, 0);
  const workers = Math.max(0, Math.min(opts.workers ?? 0, os.cpus().length));
  const largest = set.files.reduce((a, r) => Math.max(a, r.size), 0);
  const pool = new PacketPool(workers, chunkBufferSize(maxLine, largest), (_p, r) => tally.apply(r));
  const files: FileSummary[] = [];
  let doneBefore = 0;
  let packetSeq = 0;
  try {
    for (let fi = 0; fi < set.files.length; fi++) {
      const read = await set.withFile(fi, async (fd, f) => {
        tally.startFile(f.path, fi);
        const linesBefore = tally.totals.lines;
        await readLineChunks({
          fd,
          path: f.path,
          end: f.size,
          maxLine,
          acquire: () => pool.acquire(),
          release: (b) => pool.release(b),
          emit: (c) => pool.submit({ ...c, seq: packetSeq++, file: fi, maxLine, deep: !!opts.deep }),
          signal: opts.signal,
          onProgress: opts.onProgress ? (d) => opts.onProgress!(doneBefore + d, totalBytes) : undefined,
        });
        await pool.drain();
        const now = fs.fstatSync(fd).size;
        files.push({ path: f.path, checkedBytes: f.size, lines: tally.totals.lines - linesBefore, locked: f.locked, beingWritten: Math.max(0, now - f.size), ...(f.note ? { note: f.note } : {}) });
      });
      const f = set.files[fi]!;
      if (!read) files.push({ path: f.path, checkedBytes: 0, lines: 0, locked: false, beingWritten: 0, ...(f.note ? { note: f.note } : {}) });
      doneBefore += f.size;
    }
    return { files, parallel: pool.parallel };
  } finally {
    pool.close();
  }
}

async function duplicateIds(set: FileSet, tally: Tally, opts: VerifyOptions, maxLine: number): Promise<void> {
  const candidates = tally.ids.duplicates();
  if (candidates.size === 0) return;
  let n = 0;
  await confirmDuplicateIds(set, candidates, { maxLine, deep: !!opts.deep, signal: opts.signal }, (p) => {
    tally.totals.duplicateIds++;
    tally.problems.add(DUP_ID_RANK, n++, p);
  });
}

interface RunResult {
  mode: VerifyMode;
  files: FileSummary[];
  parallel: number;
  sessions: number;
  problems: Problem[];
  warnings: Problem[];
  t0: number;
}

function finishReport(tally: Tally, x: RunResult, set: FileSet): VerifyReport {
  const fileIndex = (f: string): number => set.files.findIndex((r) => r.path === f);
  x.problems.sort((a, b) => (a.file === b.file ? a.line - b.line : fileIndex(a.file) - fileIndex(b.file)));
  const elapsedMs = Date.now() - x.t0;
  const totalBytes = set.files.reduce((a, r) => a + r.size, 0);
  const problemsTotal = tally.problems.total;
  // Null-prototype tables: their keys come from the file (a type may be named "__proto__").
  const types: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [ty, c] of tally.types) types[ty] = c;
  const lockBackends: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [b, c] of tally.lockBackends) lockBackends[b] = c;
  return {
    version: 1,
    clean: problemsTotal === 0,
    mode: x.mode,
    files: x.files,
    totals: tally.totals,
    sessions: x.sessions,
    timeSpan: Number.isFinite(tally.minTs) ? { first: iso(tally.minTs), last: iso(tally.maxTs) } : {},
    types,
    lockBackends,
    problems: x.problems,
    problemsTotal,
    warnings: x.warnings,
    elapsedMs,
    megabytesPerSecond: elapsedMs > 0 ? Math.round((totalBytes / 1e6 / (elapsedMs / 1000)) * 10) / 10 : 0,
    parallel: x.parallel,
  };
}
