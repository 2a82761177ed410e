import type { DropRange } from './envelope';

/**
 * Drop accounting. A drop while the session can still write takes a seq (so verify sees the gap)
 * and joins the open range, which the next write reports in one `sink.dropped` event. A drop after
 * close takes no seq: nothing more can be written to account for it, so it is only counted.
 */
export class DropTracker {
  total = 0;
  /** Drops that took a seq (seqs the session used without writing an event). */
  withSeq = 0;
  readonly byReason: Record<string, number> = {};
  private range: DropRange | null = null;

  /** A range waits for its `sink.dropped` notice. */
  get pending(): boolean {
    return this.range !== null;
  }

  /** Counts a drop without a seq. */
  count(reason: string, n = 1): void {
    this.total += n;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + n;
  }

  /** Counts a drop that took `seq`. Returns true when it opened a new range (worth one log line). */
  take(reason: string, seq: number, ts: string): boolean {
    this.count(reason);
    this.withSeq++;
    const opened = !this.range;
    const r = (this.range ??= { from: seq, to: seq, count: 0, reasons: {}, firstTs: ts, lastTs: ts });
    r.to = seq;
    r.count++;
    r.lastTs = ts;
    r.reasons[reason] = (r.reasons[reason] ?? 0) + 1;
    return opened;
  }

  /** The open range, handed over for its notice (and closed). */
  close(): DropRange {
    const r = this.range!;
    this.range = null;
    return r;
  }
}
