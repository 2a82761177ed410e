/**
 * Statistics events straight from the bytes of lines verify's header scanner took (crc-verified,
 * canonical member order; see integrity/scanner.ts): the header fields come from the byte ranges it
 * found; of `data`, only the members the aggregates read (DATA_KEYS, through integrity/dataPick.ts),
 * and only for the event types whose data they read at all (AI, edits, saves, session ends). Every
 * value is what JSON.parse of the whole line would give; a line this cannot be sure of (a key written
 * with escapes, a ts Date.parse reads differently) is declined and parsed in full by the caller.
 */
import { tsParseMs } from '../integrity/canonicalLines';
import { DataPicker, Strings } from '../integrity/dataPick';
import type { CanonicalFields } from '../integrity/scanner';
import { EMPTY, MAX_T, type StatsEvent } from './event';
import { DATA_KEYS, usesData } from './fileAgg';
import type { Data } from './accumulators';

export class FastEvents {
  /** Reused for every line: the aggregates keep none of an event's objects. */
  private readonly ev: StatsEvent = { t: 0, type: '', sid: '', source: '', data: EMPTY };
  private buf: Buffer | undefined;
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private readonly types = new Strings();
  /** Per type id: 1 when FileAgg reads its data, 0 when not, undefined not yet known. */
  private needs: Array<number | undefined> = [];
  private readonly sids = new Strings();
  private readonly sources = new Strings();
  private readonly picker = new DataPicker(DATA_KEYS);
  /** Events made so far. */
  taken = 0;

  /** The event of the canonical line in b (fields in f), or undefined: parse the line in full instead. */
  event(b: Buffer, f: CanonicalFields): StatsEvent | undefined {
    if (b !== this.buf) {
      this.buf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (this.types.reset(b)) this.needs = [];
      this.sids.reset(b);
      this.sources.reset(b);
    }
    const t = tsParseMs(b, this.dv, f.tsStart);
    if (!(t >= 0 && t <= MAX_T)) return undefined;
    const ev = this.ev;
    const ti = this.types.id(f.typeStart, f.typeEnd);
    ev.type = this.types.list[ti]!;
    let need = this.needs[ti];
    if (need === undefined) need = this.needs[ti] = usesData(ev.type) ? 1 : 0;
    if (need) {
      const d = this.picker.pick(b, f.dataStart);
      if (!d) return undefined;
      ev.data = d as Data;
    } else ev.data = EMPTY;
    ev.t = t;
    ev.sid = this.sids.get(f.sidStart, f.sidEnd);
    ev.source = this.sources.get(f.sourceStart, f.sourceEnd);
    this.taken++;
    return ev;
  }
}
