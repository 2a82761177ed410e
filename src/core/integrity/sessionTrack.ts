/**
 * One session's seq bookkeeping, fed its events in file order: lost (gaps not covered by a trusted
 * sink.dropped), dropped (covered), duplicate, out of order, and ts going backwards.
 *
 * Linear in the number of events: gaps are only ever appended (sorted by construction, found by
 * binary search); a late event that fills part of a gap is remembered in a set instead of splitting
 * the gap, and gaps are cut into their remaining parts once, at the end. The result is the same as
 * splitting at every fill, without the rescans that made out-of-order runs quadratic.
 */

export type LedgerCode = 'lost' | 'duplicate' | 'out_of_order' | 'bad_drop_notice' | 'ts_backwards';

export interface LedgerProblem {
  code: LedgerCode;
  /** The session's id when known; null: read it back from the line at `offset`. */
  sid: string | null;
  seq: number;
  /** Ordinal (0-based, across the files read) and byte offset of the line blamed. */
  ord: number;
  offset: number;
  /** Rank: problems are kept and listed in this order (see verify's ranked lists). */
  r1: number;
  r2: number;
  /** Numbers for the message (see ledgerMessage). */
  a: number;
  b: number;
  c: number;
  why?: string;
}

export interface LedgerTotals {
  lost: number;
  dropped: number;
  duplicates: number;
  outOfOrder: number;
  warnings: number;
  badDropNotices: number;
}

export interface LedgerOut {
  totals: LedgerTotals;
  problem(p: LedgerProblem): void;
  warning(p: LedgerProblem): void;
}

/** Ranks: scan-time problems rank by line (sub-rank 1: seq problems, 2: drop notices); end-of-run ones after all of those. */
export const rankAt = (ord: number, sub: number): number => ord * 4 + sub;
export const END_RANK = 2 ** 50;

const GAP = 4; // from, to, ord, offset
const DROP = 5; // from, to, ord, offset, seq

export class SessionTrack {
  /** One past the highest seq seen. */
  private next = NaN;
  private lastTs = -Infinity;
  firstOrd = -1;
  private gaps: number[] | null = null;
  private filled: Set<number> | null = null;
  private drops: number[] | null = null;

  constructor(readonly sid: string | null) {}

  event(seq: number, ts: number, ord: number, offset: number, out: LedgerOut): void {
    if (this.firstOrd < 0) {
      // The first event in the scanned set is the baseline: earlier ones may sit in rotated
      // files outside the scan (or be removed by retention).
      this.firstOrd = ord;
      this.next = seq;
      this.lastTs = ts;
    }
    if (seq === this.next) this.next++;
    else if (seq > this.next) {
      (this.gaps ??= []).push(this.next, seq - 1, ord, offset);
      this.next = seq + 1;
    } else if (this.inGap(seq) && !this.filled?.has(seq)) {
      (this.filled ??= new Set()).add(seq);
      out.totals.outOfOrder++;
      out.problem(this.at('out_of_order', seq, ord, offset, rankAt(ord, 1), 0, this.next - 1, 0, 0));
    } else {
      out.totals.duplicates++;
      out.problem(this.at('duplicate', seq, ord, offset, rankAt(ord, 1), 0, 0, 0, 0));
    }
    if (ts < this.lastTs) {
      out.totals.warnings++;
      out.warning(this.at('ts_backwards', seq, ord, offset, ord, 0, ts, this.lastTs, 0));
    } else this.lastTs = ts;
  }

  /** A sink.dropped notice that passed the line-level checks (trusted source, sane fields). */
  notice(seq: number, from: number, to: number, ord: number, offset: number): void {
    (this.drops ??= []).push(from, to, ord, offset, seq);
  }

  private at(code: LedgerCode, seq: number, ord: number, offset: number, r1: number, r2: number, a: number, b: number, c: number, why?: string): LedgerProblem {
    return { code, sid: this.sid, seq, ord, offset, r1, r2, a, b, c, why };
  }

  /** Is seq inside one of the gaps (as first recorded)? Binary search on their starts. */
  private inGap(seq: number): boolean {
    const g = this.gaps;
    if (!g) return false;
    let lo = 0;
    let hi = g.length / GAP - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (g[mid * GAP]! <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && seq <= g[hi * GAP + 1]!;
  }

  /** End of the run: overlapping notices are flagged; each gap's remaining parts become lost or dropped. */
  finish(out: LedgerOut): void {
    let k = 0;
    const drops = this.trustedDrops(out, () => k++);
    if (!this.gaps) return;
    const filled = this.filled ? Float64Array.from(this.filled).sort() : new Float64Array(0);
    let fi = 0;
    let di = 0;
    const g = this.gaps;
    for (let x = 0; x < g.length; x += GAP) {
      const from = g[x]!;
      const to = g[x + 1]!;
      for (let cur = from; cur <= to; ) {
        const hole = fi < filled.length && filled[fi]! <= to ? filled[fi]! : to + 1;
        if (hole > cur) {
          while (di < drops.length && drops[di]![1] < cur) di++;
          this.part(cur, hole - 1, g[x + 2]!, g[x + 3]!, drops, di, k++, out);
        }
        if (hole > to) break;
        cur = hole + 1;
        fi++;
      }
    }
  }

  /** Drops sorted by start, each overlapping an earlier one flagged and left out. */
  private trustedDrops(out: LedgerOut, nextRank: () => number): Array<[number, number]> {
    const d = this.drops;
    if (!d) return [];
    const order = Array.from({ length: d.length / DROP }, (_, i) => i * DROP).sort((x, y) => d[x]! - d[y]! || d[x + 2]! - d[y + 2]!);
    const kept: Array<[number, number]> = [];
    for (const x of order) {
      const last = kept[kept.length - 1];
      if (last && d[x]! <= last[1]) {
        out.totals.badDropNotices++;
        const why = `its range ${d[x]}–${d[x + 1]} overlaps ${last[0]}–${last[1]} of another notice (a sink never drops a seq twice)`;
        out.problem(this.at('bad_drop_notice', d[x + 4]!, d[x + 2]!, d[x + 3]!, END_RANK + this.firstOrd, nextRank(), 0, 0, 0, why));
      } else kept.push([d[x]!, d[x + 1]!]);
    }
    return kept;
  }

  /** One missing range [from, to]: the part covered by drops is dropped, the rest lost. */
  private part(from: number, to: number, ord: number, offset: number, drops: Array<[number, number]>, di: number, r2: number, out: LedgerOut): void {
    let covered = 0;
    for (let j = di; j < drops.length && drops[j]![0] <= to; j++) covered += Math.max(0, Math.min(drops[j]![1], to) - Math.max(drops[j]![0], from) + 1);
    out.totals.dropped += covered;
    const missing = to - from + 1 - covered;
    if (missing > 0) {
      out.totals.lost += missing;
      out.problem(this.at('lost', from, ord, offset, END_RANK + this.firstOrd, r2, missing, to, covered));
    }
  }
}
