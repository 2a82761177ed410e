import { SinkError } from './errors';
import { checkSource, checkType, eventLineRoom, EVENT_FIXED_BYTES, isoNow, MAX_LINE_BYTES, serializeData, sidSeqPart, typeSourcePart, writeEventLine } from './envelope';
import type { ByteQueue } from './queue';

/** One event checked and serialized, not yet queued (so it has no seq yet). */
export interface Encoded {
  ts: string;
  typeSource: Buffer;
  dataJson: string;
  /** Its line's length: exact UTF-8 bytes near the cap, else the UTF-16 length (the queue's estimate). */
  estimate: number;
}

/**
 * One session's encoder: checks an event, serializes its data once, and later writes its line
 * (envelope.ts's writer) straight into the queue. Caches the per-session and per-type parts of the
 * line so the hot path only writes bytes.
 */
export class EventEncoder {
  private readonly sidSeq: Buffer;
  private readonly sourceJson: string;
  private readonly typeSourceCache = new Map<string, Buffer>();
  private tsText = '';
  private tsBytes = Buffer.alloc(0);

  constructor(
    sid: string,
    private readonly source: string,
    /** Longest line (without its newline) an event may make. */
    private readonly maxLineBytes: number,
  ) {
    this.sidSeq = sidSeqPart(sid);
    this.sourceJson = JSON.stringify(source);
  }

  /**
   * Checks and serializes one event whose seq will have at most the digits of `seqHint`.
   * Throws ERR_INVALID_EVENT naming the field (type, source, data, or a line over the cap).
   * `cap`: the sink's own notices are held only to the file's line cap, not to a smaller one set
   * for events (they must be written whatever the events' cap).
   */
  encode(type: string, data: unknown, source: string | undefined, seqHint: number, cap = this.maxLineBytes): Encoded {
    checkType(type);
    const sourceJson = source === undefined || source === this.source ? this.sourceJson : JSON.stringify(checkSource(source));
    const dataJson = serializeData(data);
    const ts = isoNow();
    const typeSource = this.typeSource(type, sourceJson);
    return { ts, typeSource, dataJson, estimate: this.checkLineSize(ts, typeSource, dataJson, seqHint, cap) };
  }

  /** The sink's own `sink.dropped` notice (see encode's `cap`). */
  encodeNotice(data: Record<string, unknown>, seq: number): Encoded {
    return this.encode('sink.dropped', data, undefined, seq, MAX_LINE_BYTES);
  }

  /** Writes the encoded event's line with `seq` into the queue. */
  write(queue: ByteQueue, e: Encoded, seq: number): void {
    if (e.ts !== this.tsText) {
      this.tsText = e.ts;
      this.tsBytes = Buffer.from(e.ts, 'latin1');
    }
    const dataBytes = Buffer.byteLength(e.dataJson);
    const buf = queue.reserve(eventLineRoom(this.tsBytes.length, this.sidSeq.length, e.typeSource.length, dataBytes));
    queue.commit(writeEventLine(buf, queue.tail, this.tsBytes, this.sidSeq, seq, e.typeSource, e.dataJson, dataBytes));
  }

  /**
   * The exact length of the line this event makes (without its newline) must not pass the cap
   * (verify's `too_long` is the same cap). UTF-8 bytes are counted only when the event could be
   * near it; below that, the UTF-16 length serves as the queue's estimate.
   */
  private checkLineSize(ts: string, typeSource: Buffer, dataJson: string, seqHint: number, cap: number): number {
    const fixed = EVENT_FIXED_BYTES + ts.length + this.sidSeq.length + String(seqHint).length + typeSource.length;
    if (fixed + dataJson.length * 3 <= cap) return fixed + dataJson.length; // exact for ASCII
    const dataBytes = Buffer.byteLength(dataJson);
    if (fixed + dataBytes > cap) {
      throw new SinkError('ERR_INVALID_EVENT', `field "data": ${dataBytes} bytes make a ${fixed + dataBytes}-byte line, over the ${cap}-byte line cap`);
    }
    return fixed + dataBytes;
  }

  /** Cached `,"type":"…","source":…,"data":` bytes (type and source are checked: nothing to escape). */
  private typeSource(type: string, sourceJson: string): Buffer {
    const key = sourceJson === this.sourceJson ? type : type + ' ' + sourceJson;
    let b = this.typeSourceCache.get(key);
    if (!b) {
      if (this.typeSourceCache.size > 512) this.typeSourceCache.clear();
      b = typeSourcePart(type, sourceJson);
      this.typeSourceCache.set(key, b);
    }
    return b;
  }
}
