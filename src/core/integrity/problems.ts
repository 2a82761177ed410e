/**
 * Turns the kept seq-level findings (compact LedgerProblems) into report entries at the end of a
 * run: file and line from the line ordinal, the session id (read back from the blamed line when the
 * session was tracked on disk) and, where the report shows one, an excerpt of that line. Only the
 * problems that make the list are read back, so this costs at most a few hundred small reads.
 */
import { classifyLine, excerpt } from './classify';
import type { LedgerProblem } from './sessionTrack';
import type { Problem } from './verify';
import { readFullAt } from './spill';
import type { FileSet } from './fileset';

export type Pending = Problem | LedgerProblem;

export const isLedger = (x: Pending): x is LedgerProblem => 'r1' in x;

export interface ScannedFile {
  path: string;
  /** Index in the FileSet (rotated files are opened again, one at a time, to read lines back). */
  index: number;
  /** Ordinal of the file's first line (lines of the files before it). */
  firstOrd: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function short(sid: string): string {
  return sid.length > 8 ? sid.slice(0, 8) : sid;
}

export function ledgerMessage(p: LedgerProblem, sid: string): string {
  switch (p.code) {
    case 'out_of_order':
      return `seq ${p.seq} of session ${short(sid)} arrived after seq ${p.a}`;
    case 'duplicate':
      return `seq ${p.seq} of session ${short(sid)} appears again`;
    case 'ts_backwards':
      return `ts ${iso(p.a)} is earlier than the session's previous ${iso(p.b)}`;
    case 'lost':
      return `session ${short(sid)}: ${p.a} event(s) missing in seq ${p.seq}–${p.b}${p.c ? ` (${p.c} accounted for by sink.dropped)` : ''}`;
    case 'bad_drop_notice':
      return `sink.dropped (seq ${p.seq}) of session ${short(sid)} is not counted: ${p.why ?? 'impossible'}`;
  }
}

/** Reads one line (without its newline) at `offset`, at most `max` bytes of it. */
export function readLineAt(fd: number, offset: number, max: number): Buffer {
  const parts: Buffer[] = [];
  let got = 0;
  for (let pos = offset; got < max; ) {
    const buf = Buffer.allocUnsafe(Math.min(64 * 1024, max - got));
    const n = readFullAt(fd, buf, pos);
    const nl = buf.subarray(0, n).indexOf(10);
    const take = nl >= 0 ? nl : n;
    parts.push(buf.subarray(0, take));
    got += take;
    pos += n;
    if (nl >= 0 || n < buf.length) break;
  }
  return Buffer.concat(parts, got);
}

export class Materializer {
  constructor(
    private readonly files: ScannedFile[],
    private readonly maxLine: number,
    private readonly set: FileSet,
  ) {}

  private fileOf(ord: number): ScannedFile {
    let lo = 0;
    let hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.files[mid]!.firstOrd <= ord) lo = mid;
      else hi = mid - 1;
    }
    return this.files[lo]!;
  }

  /**
   * Report entries in list order. Lines are read back file by file, each file opened once (the set
   * checks it is still the file that was scanned; if not, the entry goes without excerpt).
   */
  async all(list: Pending[]): Promise<Problem[]> {
    const out: Array<Problem | undefined> = list.map((x) => (isLedger(x) ? undefined : x));
    const byFile = new Map<ScannedFile, number[]>();
    list.forEach((x, i) => {
      if (!isLedger(x)) return;
      const f = this.fileOf(x.ord);
      byFile.set(f, [...(byFile.get(f) ?? []), i]);
    });
    for (const [f, idx] of byFile) {
      await this.set.withFile(f.index, async (fd) => {
        for (const i of idx) out[i] = this.problem(list[i] as LedgerProblem, f, fd);
      });
      for (const i of idx) out[i] ??= this.problem(list[i] as LedgerProblem, f, undefined);
    }
    return out as Problem[];
  }

  private problem(x: LedgerProblem, f: ScannedFile, fd: number | undefined): Problem {
    const withExcerpt = x.code === 'out_of_order' || x.code === 'duplicate' || x.code === 'bad_drop_notice';
    const bytes = fd !== undefined && (withExcerpt || x.sid === null) ? readLineAt(fd, x.offset, this.maxLine + 1) : undefined;
    const sid = x.sid ?? (bytes ? this.sidOf(bytes) : '?');
    const p: Problem = { file: f.path, line: x.ord - f.firstOrd + 1, offset: x.offset, code: x.code, message: ledgerMessage(x, sid), sid, seq: x.seq };
    if (withExcerpt && bytes) p.excerpt = excerpt(bytes);
    return p;
  }

  private sidOf(bytes: Buffer): string {
    const v = classifyLine({ line: 0, offset: 0, bytes, terminated: true, truncated: false, length: bytes.length }, this.maxLine);
    return v.env?.sid ?? '?';
  }
}
