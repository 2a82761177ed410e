import { dropNoticeData } from './envelope';
import { DropTracker } from './drops';
import type { Encoded, EventEncoder } from './encoder';
import type { ByteQueue } from './queue';
import type { LogLevel } from './options';

/** Queue room kept for the `sink.dropped` notice while drops wait for it. */
const NOTICE_RESERVE = 1024;

/**
 * The session's seq numbering and the bounded queue's door. Every seq handed out is either a line
 * in the queue or a drop, and the drops are reported by a `sink.dropped` line queued before the
 * next event (room for it is kept), so verify can tell dropped from lost.
 */
export class Intake {
  /** The next seq to hand out (= seqs handed out so far). */
  nextSeq = 0;
  readonly drops = new DropTracker();

  constructor(
    private readonly queue: ByteQueue,
    private readonly encoder: EventEncoder,
    private readonly bounds: { maxQueueEvents: number; maxQueueBytes: number },
    private readonly log: (level: LogLevel, message: string) => void,
  ) {}

  /** The seq the event `ahead` places after the next one would get (its digits bound the line). */
  seqHint(ahead: number): number {
    return this.nextSeq + ahead + (this.drops.pending ? 1 : 0);
  }

  /** Queues the event (after a pending drop notice) and returns its seq; or drops it: -1. */
  add(e: Encoded): number {
    const notice = this.drops.pending;
    if (this.queue.events + (notice ? 2 : 1) > this.bounds.maxQueueEvents) return this.drop('queue_full_events', e.ts);
    if (this.queue.bytes + e.estimate + (notice ? NOTICE_RESERVE : 0) > this.bounds.maxQueueBytes) return this.drop('queue_full_bytes', e.ts);
    if (notice) this.addNotice();
    const seq = this.nextSeq++;
    this.encoder.write(this.queue, e, seq);
    return seq;
  }

  /**
   * Whether every one of `encoded` fits at once (each at its largest: 3 UTF-8 bytes per UTF-16
   * unit), so no event of an accepted batch can be dropped while the others are queued.
   */
  fitsAll(encoded: readonly Encoded[]): boolean {
    const bytes = encoded.reduce((a, e) => a + e.estimate + 2 * e.dataJson.length, 0);
    const notice = this.drops.pending;
    if (this.queue.events + encoded.length + (notice ? 1 : 0) > this.bounds.maxQueueEvents) return false;
    return this.queue.bytes + bytes + (notice ? NOTICE_RESERVE : 0) <= this.bounds.maxQueueBytes;
  }

  /** After a drain: queues the pending drop notice when there is room. True when it did. */
  noticeIfRoom(): boolean {
    if (!this.drops.pending || this.queue.events + 1 > this.bounds.maxQueueEvents) return false;
    this.addNotice();
    return true;
  }

  private drop(reason: string, ts: string): number {
    const seq = this.nextSeq++;
    if (this.drops.take(reason, seq, ts)) this.log('warn', `queue full (${reason}): dropping events from seq ${seq}`);
    return -1;
  }

  private addNotice(): void {
    const data = dropNoticeData(this.drops.close());
    const seq = this.nextSeq++;
    this.encoder.write(this.queue, this.encoder.encodeNotice(data, seq), seq);
  }
}
