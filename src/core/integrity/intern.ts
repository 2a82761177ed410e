/**
 * Maps byte ranges of one buffer (a packet) to small indexes of distinct strings without making a
 * string per occurrence: a string is made once, the first time its bytes are seen in the packet.
 * The string list and map are shared with the full path, which interns by string.
 */
const SLOTS = 4096; // power of two
const MASK = SLOTS - 1;
/** Past this many distinct values in one packet, new ones are looked up by string only. */
const MAX_ENTRIES = SLOTS / 2;

export class ByteInterner {
  private buf: Buffer = Buffer.alloc(0);
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private list: string[] = [];
  private map = new Map<string, number>();
  private readonly slots = new Int32Array(SLOTS);
  private readonly touched: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly ids: number[] = [];

  reset(buf: Buffer, list: string[], map: Map<string, number>): void {
    for (const t of this.touched) this.slots[t] = 0;
    this.touched.length = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.ids.length = 0;
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.list = list;
    this.map = map;
  }

  /** Index in the list of the ASCII string held in buf[s, e). */
  intern(s: number, e: number): number {
    const b = this.buf;
    const n = e - s;
    // Hash of the length and three words (ends and middle): ids and types differ in one of them.
    let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
    if (n >= 4) {
      h = Math.imul(h ^ this.dv.getInt32(s, true), 0x5bd1e995);
      h = Math.imul(h ^ this.dv.getInt32(e - 4, true), 0x5bd1e995);
      h = Math.imul(h ^ this.dv.getInt32(s + ((n - 4) >> 1), true), 0x5bd1e995);
    } else for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    let slot = (h ^ (h >>> 15)) & MASK;
    for (;;) {
      const k = this.slots[slot]! - 1;
      if (k < 0) break;
      if (this.same(k, s, e)) return this.ids[k]!;
      slot = (slot + 1) & MASK;
    }
    const str = b.toString('latin1', s, e);
    let id = this.map.get(str);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(str);
      this.map.set(str, id);
    }
    if (this.ids.length < MAX_ENTRIES) {
      this.slots[slot] = this.ids.length + 1;
      this.touched.push(slot);
      this.starts.push(s);
      this.ends.push(e);
      this.ids.push(id);
    }
    return id;
  }

  private same(k: number, s: number, e: number): boolean {
    const a = this.starts[k]!;
    if (this.ends[k]! - a !== e - s) return false;
    const n = e - s;
    const d = this.dv;
    let i = 0;
    for (; i + 4 <= n; i += 4) if (d.getInt32(a + i, true) !== d.getInt32(s + i, true)) return false;
    for (; i < n; i++) if (d.getUint8(a + i) !== d.getUint8(s + i)) return false;
    return true;
  }
}
