/**
 * Verify's running totals: applies classified packets, in file order, to the counters, the
 * duplicate-id fingerprints, the SessionLedger and the ranked problem lists. Everything per line is
 * numbers out of typed arrays; strings are made once per distinct session or type per packet.
 */
import type { LineProblem } from './classify';
import { noticeDefect, noticeProblem } from './dropNotice';
import { FingerprintSet } from './idset';
import { SessionLedger, SessionRef } from './ledger';
import { F_ENV, F_NO_CRC, PacketResult } from './packet';
import type { Pending, ScannedFile } from './problems';
import { RankedList } from './ranked';
import { LedgerProblem, LedgerTotals, rankAt } from './sessionTrack';

export interface Totals extends LedgerTotals {
  lines: number;
  valid: number;
  invalid: number;
  invalidByReason: Partial<Record<LineProblem, number>>;
  withoutCrc: number;
  duplicateIds: number;
  torn: number;
  /** Lines the fast scanner took (crc-verified canonical lines); 0 in deep mode. */
  fastPath: number;
}

export class Tally {
  readonly totals: Totals = { lines: 0, valid: 0, invalid: 0, invalidByReason: {}, withoutCrc: 0, lost: 0, dropped: 0, duplicates: 0, outOfOrder: 0, duplicateIds: 0, torn: 0, warnings: 0, badDropNotices: 0, fastPath: 0 };
  readonly problems: RankedList<Pending>;
  readonly warnings: RankedList<Pending>;
  readonly ledger: SessionLedger;
  readonly ids = new FingerprintSet();
  readonly types = new Map<string, number>();
  readonly lockBackends = new Map<string, number>();
  readonly files: ScannedFile[] = [];
  minTs = Infinity;
  maxTs = -Infinity;
  /** Lines applied so far (all files) and in the current file. */
  private ord = 0;
  private lineInFile = 0;

  constructor(maxProblems: number, sessionsInMemory?: number) {
    this.problems = new RankedList(maxProblems);
    this.warnings = new RankedList(maxProblems);
    const out = {
      totals: this.totals,
      problem: (p: LedgerProblem) => this.problems.add(p.r1, p.r2, p),
      warning: (p: LedgerProblem) => this.warnings.add(p.r1, p.r2, p),
    };
    this.ledger = new SessionLedger(out, sessionsInMemory);
  }

  /** The next file starts: its lines are numbered from 1. */
  startFile(path: string, index: number): void {
    this.files.push({ path, index, firstOrd: this.ord });
    this.lineInFile = 0;
  }

  apply(r: PacketResult): void {
    const t = this.totals;
    t.lines += r.n;
    t.invalid += r.problems.length;
    t.valid += r.n - r.problems.length;
    t.fastPath += r.fast;
    this.lineProblems(r);
    const refs = this.events(r);
    this.notices(r, refs);
    for (const b of r.backends) this.lockBackends.set(b, (this.lockBackends.get(b) ?? 0) + 1);
    this.ord += r.n;
    this.lineInFile += r.n;
  }

  private lineProblems(r: PacketResult): void {
    const t = this.totals;
    const file = this.files[this.files.length - 1]!.path;
    for (const x of r.problems) {
      t.invalidByReason[x.code] = (t.invalidByReason[x.code] ?? 0) + 1;
      if (x.code === 'torn') t.torn++;
      this.problems.add(rankAt(this.ord + x.i, 0), 0, { file, line: this.lineInFile + x.i + 1, offset: r.offset[x.i]!, code: x.code, message: x.message, excerpt: x.excerpt });
    }
  }

  /** Feeds every envelope to the counters and the ledger; returns the packet's session refs. */
  private events(r: PacketResult): Array<SessionRef | undefined> {
    const refs: Array<SessionRef | undefined> = new Array(r.sids.length);
    const typeCounts = new Array<number>(r.types.length).fill(0);
    const t = this.totals;
    for (let i = 0; i < r.n; i++) {
      const f = r.flags[i]!;
      if (!(f & F_ENV)) continue;
      if (f & F_NO_CRC) t.withoutCrc++;
      typeCounts[r.type[i]!]!++;
      const ts = r.ts[i]!;
      if (ts < this.minTs) this.minTs = ts;
      if (ts > this.maxTs) this.maxTs = ts;
      this.ids.add(r.fp[i]!);
      const si = r.sid[i]!;
      const ref = (refs[si] ??= this.ledger.resolve(r.sids[si]!));
      this.ledger.event(ref, r.sseq[i]!, ts, this.ord + i, r.offset[i]!);
    }
    r.types.forEach((ty, k) => {
      if (typeCounts[k]) this.types.set(ty, (this.types.get(ty) ?? 0) + typeCounts[k]!);
    });
    return refs;
  }

  private notices(r: PacketResult, refs: Array<SessionRef | undefined>): void {
    for (const n of r.notices) {
      const seq = r.sseq[n.i]!;
      const ord = this.ord + n.i;
      const why = noticeDefect(n, seq);
      if (why) {
        this.totals.badDropNotices++;
        const p = noticeProblem(r.sids[r.sid[n.i]!]!, seq, ord, r.offset[n.i]!, why);
        this.problems.add(p.r1, p.r2, p);
      } else this.ledger.notice(refs[r.sid[n.i]!]!, seq, n.from, n.to, ord, r.offset[n.i]!);
    }
  }

  dispose(): void {
    this.ids.dispose();
    this.ledger.dispose();
  }
}
