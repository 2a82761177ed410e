import * as fs from 'node:fs';
import { classifyLine, excerpt, LineProblem } from './classify';
import { FingerprintSet, fingerprint } from './idset';
import { IntegrityError, lockedSize, RawLine, scanLines } from './reader';
import { listRotated } from '../sink/rotation';

export type ProblemCode = LineProblem | 'lost' | 'duplicate' | 'out_of_order' | 'duplicate_id';
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

export interface VerifyOptions {
  file: string;
  /** Also the rotated siblings, oldest first, then the live file. */
  all?: boolean;
  maxProblems?: number;
  maxLineBytes?: number;
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
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
}

export interface VerifyReport {
  version: 1;
  clean: boolean;
  files: FileSummary[];
  totals: {
    lines: number;
    valid: number;
    invalid: number;
    invalidByReason: Partial<Record<LineProblem, number>>;
    withoutCrc: number;
    lost: number;
    dropped: number;
    duplicates: number;
    outOfOrder: number;
    duplicateIds: number;
    torn: number;
    warnings: number;
  };
  sessions: number;
  timeSpan: { first?: string; last?: string };
  types: Record<string, number>;
  lockBackends: Record<string, number>;
  problems: Problem[];
  problemsTotal: number;
  warnings: Problem[];
  elapsedMs: number;
  megabytesPerSecond: number;
}

interface Gap {
  from: number;
  to: number;
  file: string;
  line: number;
  offset: number;
}

interface SessionState {
  next: number;
  lastTs: string;
  gaps: Gap[] | null;
  dropped: Array<[number, number]> | null;
}

const DEFAULT_MAX_LINE = 1024 * 1024;

export function filesFor(file: string, all: boolean): string[] {
  return all ? [...listRotated(file).map((r) => r.path), file] : [file];
}

/** Streams the file(s) once, in constant memory apart from 8 bytes per event id. */
export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = Date.now();
  const maxProblems = opts.maxProblems ?? 100;
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE;
  const files = filesFor(opts.file, !!opts.all);
  if (!fs.existsSync(opts.file) && !(opts.all && files.length > 1)) throw new IntegrityError('ERR_NOT_FOUND', `no such file: ${opts.file}`);

  const report: VerifyReport = {
    version: 1,
    clean: true,
    files: [],
    totals: { lines: 0, valid: 0, invalid: 0, invalidByReason: {}, withoutCrc: 0, lost: 0, dropped: 0, duplicates: 0, outOfOrder: 0, duplicateIds: 0, torn: 0, warnings: 0 },
    sessions: 0,
    timeSpan: {},
    types: {},
    lockBackends: {},
    problems: [],
    problemsTotal: 0,
    warnings: [],
    elapsedMs: 0,
    megabytesPerSecond: 0,
  };
  const sessions = new Map<string, SessionState>();
  const ids = new FingerprintSet();
  let minTs: string | undefined;
  let maxTs: string | undefined;

  const problem = (p: Problem): void => {
    report.problemsTotal++;
    if (report.problems.length < maxProblems) report.problems.push(p);
  };

  // Sizes first: rotated files are complete; the live file is read up to its locked size.
  const ranges: Array<{ path: string; end: number; locked: boolean }> = [];
  for (const f of files) {
    if (f === opts.file) {
      if (!fs.existsSync(f)) continue;
      const ls = await lockedSize(f, opts.lockTimeoutMs ?? 2000);
      ranges.push({ path: f, end: ls.size, locked: ls.locked });
    } else {
      try {
        ranges.push({ path: f, end: fs.statSync(f).size, locked: true });
      } catch {
        /* removed by retention meanwhile */
      }
    }
  }
  const totalBytes = ranges.reduce((a, r) => a + r.end, 0);
  let doneBefore = 0;

  for (const r of ranges) {
    const onLine = (l: RawLine): void => {
      report.totals.lines++;
      const v = classifyLine(l, maxLine);
      if (v.problem) {
        report.totals.invalid++;
        report.totals.invalidByReason[v.problem] = (report.totals.invalidByReason[v.problem] ?? 0) + 1;
        if (v.problem === 'torn') report.totals.torn++;
        problem({ file: r.path, line: l.line, offset: l.offset, code: v.problem, message: v.message ?? v.problem, excerpt: excerpt(l.bytes) });
      } else {
        report.totals.valid++;
      }
      const env = v.env;
      if (!env) return;
      if (v.crc === undefined) report.totals.withoutCrc++;
      report.types[env.type] = (report.types[env.type] ?? 0) + 1;
      if (minTs === undefined || env.ts < minTs) minTs = env.ts;
      if (maxTs === undefined || env.ts > maxTs) maxTs = env.ts;
      ids.add(fingerprint(env.id));
      if (env.type === 'session.start') {
        const b = env.data.lock_backend;
        if (typeof b === 'string') report.lockBackends[b] = (report.lockBackends[b] ?? 0) + 1;
      }
      let s = sessions.get(env.sid);
      if (!s) {
        // A session's first event in the scanned set sets its baseline: earlier ones may sit in
        // rotated files outside the scan (or be removed by retention).
        s = { next: env.seq, lastTs: env.ts, gaps: null, dropped: null };
        sessions.set(env.sid, s);
      }
      if (env.type === 'sink.dropped') {
        const from = env.data.from_seq;
        const to = env.data.to_seq;
        if (typeof from === 'number' && typeof to === 'number' && to >= from) (s.dropped ??= []).push([from, to]);
      }
      if (env.seq === s.next) {
        s.next++;
      } else if (env.seq > s.next) {
        (s.gaps ??= []).push({ from: s.next, to: env.seq - 1, file: r.path, line: l.line, offset: l.offset });
        s.next = env.seq + 1;
      } else {
        // Behind: fills a gap (out of order) or repeats a seq already seen (duplicate).
        const g = s.gaps?.find((x) => env.seq >= x.from && env.seq <= x.to);
        if (g && s.gaps) {
          report.totals.outOfOrder++;
          problem({ file: r.path, line: l.line, offset: l.offset, code: 'out_of_order', message: `seq ${env.seq} of session ${short(env.sid)} arrived after seq ${s.next - 1}`, sid: env.sid, seq: env.seq, excerpt: excerpt(l.bytes) });
          splitGap(s.gaps, g, env.seq);
        } else {
          report.totals.duplicates++;
          problem({ file: r.path, line: l.line, offset: l.offset, code: 'duplicate', message: `seq ${env.seq} of session ${short(env.sid)} appears again`, sid: env.sid, seq: env.seq, excerpt: excerpt(l.bytes) });
        }
      }
      if (env.ts < s.lastTs) {
        report.totals.warnings++;
        if (report.warnings.length < maxProblems) report.warnings.push({ file: r.path, line: l.line, offset: l.offset, code: 'ts_backwards', message: `ts ${env.ts} is earlier than the session's previous ${s.lastTs}`, sid: env.sid, seq: env.seq });
      } else s.lastTs = env.ts;
    };
    const lines = await scanLines(r.path, r.end, onLine, {
      bufferCap: maxLine,
      signal: opts.signal,
      onProgress: opts.onProgress ? (d) => opts.onProgress!(doneBefore + d, totalBytes) : undefined,
    });
    doneBefore += r.end;
    let now = r.end;
    try {
      now = fs.statSync(r.path).size;
    } catch {
      /* rotated away meanwhile */
    }
    report.files.push({ path: r.path, checkedBytes: r.end, lines, locked: r.locked, beingWritten: Math.max(0, now - r.end) });
  }

  // Gaps: covered by a sink.dropped → dropped; otherwise lost.
  for (const [sid, s] of sessions) {
    if (!s.gaps) continue;
    for (const g of s.gaps) {
      let missing = g.to - g.from + 1;
      let covered = 0;
      for (const [a, b] of s.dropped ?? []) covered += Math.max(0, Math.min(b, g.to) - Math.max(a, g.from) + 1);
      covered = Math.min(covered, missing);
      report.totals.dropped += covered;
      missing -= covered;
      if (missing > 0) {
        report.totals.lost += missing;
        problem({ file: g.file, line: g.line, offset: g.offset, code: 'lost', message: `session ${short(sid)}: ${missing} event(s) missing in seq ${g.from}–${g.to}${covered ? ` (${covered} accounted for by sink.dropped)` : ''}`, sid, seq: g.from });
      }
    }
  }

  // Duplicate ids: confirm fingerprint candidates exactly with a second pass.
  const candidates = ids.duplicates();
  if (candidates.size > 0) await confirmDuplicateIds(ranges, candidates, maxLine, (p) => {
    report.totals.duplicateIds++;
    problem(p);
  });

  report.sessions = sessions.size;
  report.timeSpan = { ...(minTs ? { first: minTs } : {}), ...(maxTs ? { last: maxTs } : {}) };
  report.problems.sort((a, b) => (a.file === b.file ? a.line - b.line : ranges.findIndex((r) => r.path === a.file) - ranges.findIndex((r) => r.path === b.file)));
  report.clean = report.problemsTotal === 0;
  report.elapsedMs = Date.now() - t0;
  report.megabytesPerSecond = report.elapsedMs > 0 ? Math.round((totalBytes / 1e6 / (report.elapsedMs / 1000)) * 10) / 10 : 0;
  return report;
}

function splitGap(gaps: Gap[], g: Gap, seq: number): void {
  const i = gaps.indexOf(g);
  const parts: Gap[] = [];
  if (seq > g.from) parts.push({ ...g, to: seq - 1 });
  if (seq < g.to) parts.push({ ...g, from: seq + 1 });
  gaps.splice(i, 1, ...parts);
}

async function confirmDuplicateIds(
  ranges: Array<{ path: string; end: number }>,
  candidates: Set<number>,
  maxLine: number,
  report: (p: Problem) => void,
): Promise<void> {
  // id → first (sid, seq) seen. Only candidate ids are kept, so this stays small.
  const first = new Map<string, string>();
  for (const r of ranges) {
    await scanLines(r.path, r.end, (l) => {
      const v = classifyLine(l, maxLine);
      if (!v.env || !candidates.has(fingerprint(v.env.id))) return;
      const key = `${v.env.sid}#${v.env.seq}`;
      const prev = first.get(v.env.id);
      if (prev === undefined) first.set(v.env.id, key);
      else if (prev !== key) {
        // Same id on a different event (a repeated (sid, seq) is already reported as duplicate).
        report({ file: r.path, line: l.line, offset: l.offset, code: 'duplicate_id', message: `id ${v.env.id} was already used by another event`, sid: v.env.sid, seq: v.env.seq, excerpt: excerpt(l.bytes) });
      }
    }, { bufferCap: maxLine });
  }
}

function short(sid: string): string {
  return sid.length > 8 ? sid.slice(0, 8) : sid;
}
