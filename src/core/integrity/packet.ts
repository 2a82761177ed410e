/**
 * Verify's unit of work: a packet of consecutive lines (copied out of the read buffer) classified
 * into compact arrays. The same function runs in worker threads for large files and in-process for
 * small ones, so both paths report the same thing.
 */
import { classifyLine, excerpt, LineProblem } from './classify';
import { fingerprint } from './idset';
import type { RawLine } from './reader';

export interface Packet {
  seq: number;
  file: number;
  firstLine: number;
  n: number;
  bytes: Uint8Array;
  /** Per line: start/end in `bytes`, absolute offset, true length, flags (1 terminated, 2 truncated). */
  start: Uint32Array;
  end: Uint32Array;
  offset: Float64Array;
  length: Float64Array;
  lflags: Uint8Array;
  maxLine: number;
}

/** Per-line flags of a PacketResult: an envelope was read; it carries no crc. */
export const F_ENV = 1;
export const F_NO_CRC = 4;

export interface PacketResult {
  seq: number;
  flags: Uint8Array;
  sseq: Float64Array;
  sid: Uint32Array;
  type: Uint32Array;
  ts: Float64Array;
  fp: Float64Array;
  sids: string[];
  types: string[];
  problems: Array<{ i: number; code: LineProblem; message: string; excerpt: string }>;
  dropped: Array<{ i: number; from: number; to: number }>;
  backends: string[];
}

export class PacketBuilder {
  private buf: Uint8Array;
  private used = 0;
  private n = 0;
  private cap = 1024;
  private start = new Uint32Array(this.cap);
  private end = new Uint32Array(this.cap);
  private offset = new Float64Array(this.cap);
  private length = new Float64Array(this.cap);
  private lflags = new Uint8Array(this.cap);
  private firstLine = 0;
  private file = 0;
  /**
   * `reuse`: the consumer is done with a packet when emit returns (in-process), so buffers are
   * reused; otherwise (workers) each packet gets its own, transferable buffers.
   */
  constructor(
    private readonly size: number,
    private readonly maxLine: number,
    private readonly nextSeq: () => number,
    private readonly emit: (p: Packet) => void,
    private readonly reuse: boolean,
  ) {
    this.buf = new Uint8Array(size);
  }

  add(l: RawLine, file: number): void {
    const b = l.bytes;
    if (this.n > 0 && (this.used + b.length > this.buf.length || file !== this.file)) this.flush();
    if (this.n === 0) {
      this.firstLine = l.line;
      this.file = file;
      if (b.length > this.buf.length) this.buf = new Uint8Array(b.length);
    }
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    this.buf.set(b, this.used);
    this.start[i] = this.used;
    this.used += b.length;
    this.end[i] = this.used;
    this.offset[i] = l.offset;
    this.length[i] = l.length;
    this.lflags[i] = (l.terminated ? 1 : 0) | (l.truncated ? 2 : 0);
  }

  private grow(): void {
    this.cap *= 2;
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, mk: new (n: number) => T): T => {
      const x = new mk(this.cap);
      x.set(a);
      return x;
    };
    this.start = g(this.start, Uint32Array);
    this.end = g(this.end, Uint32Array);
    this.offset = g(this.offset, Float64Array);
    this.length = g(this.length, Float64Array);
    this.lflags = g(this.lflags, Uint8Array);
  }

  flush(): void {
    if (this.n === 0) return;
    const n = this.n;
    const view = this.reuse;
    this.emit({
      seq: this.nextSeq(),
      file: this.file,
      firstLine: this.firstLine,
      n,
      bytes: view ? this.buf.subarray(0, this.used) : this.buf.slice(0, this.used),
      start: view ? this.start.subarray(0, n) : this.start.slice(0, n),
      end: view ? this.end.subarray(0, n) : this.end.slice(0, n),
      offset: view ? this.offset.subarray(0, n) : this.offset.slice(0, n),
      length: view ? this.length.subarray(0, n) : this.length.slice(0, n),
      lflags: view ? this.lflags.subarray(0, n) : this.lflags.slice(0, n),
      maxLine: this.maxLine,
    });
    if (this.buf.byteLength !== this.size) this.buf = new Uint8Array(this.size);
    this.used = 0;
    this.n = 0;
  }
}

/** ts "YYYY-MM-DDTHH:MM:SS.mmmZ" (schema-checked) → ms, without Date parsing. */
function tsMs(s: string): number {
  const d = (i: number, k: number): number => {
    let v = 0;
    for (let j = i; j < i + k; j++) v = v * 10 + (s.charCodeAt(j) - 48);
    return v;
  };
  return Date.UTC(d(0, 4), d(5, 2) - 1, d(8, 2), d(11, 2), d(14, 2), d(17, 2), d(20, 3));
}

/** Classifies a packet; with `into` (in-process), its arrays are reused when large enough. */
export function classifyPacket(p: Packet, into?: PacketResult): PacketResult {
  const n = p.n;
  const fits = into !== undefined && into.flags.length >= n;
  const r: PacketResult = {
    seq: p.seq,
    flags: fits ? into.flags : new Uint8Array(n),
    sseq: fits ? into.sseq : new Float64Array(n),
    sid: fits ? into.sid : new Uint32Array(n),
    type: fits ? into.type : new Uint32Array(n),
    ts: fits ? into.ts : new Float64Array(n),
    fp: fits ? into.fp : new Float64Array(n),
    sids: [],
    types: [],
    problems: [],
    dropped: [],
    backends: [],
  };
  const sidIdx = new Map<string, number>();
  const typeIdx = new Map<string, number>();
  const bytes = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const lf = p.lflags[i]!;
    const l: RawLine = { line: p.firstLine + i, offset: p.offset[i]!, bytes: bytes.subarray(p.start[i]!, p.end[i]!), terminated: (lf & 1) !== 0, truncated: (lf & 2) !== 0, length: p.length[i]! };
    const v = classifyLine(l, p.maxLine);
    let f = 0;
    if (v.problem) {
      r.problems.push({ i, code: v.problem, message: v.message ?? v.problem, excerpt: excerpt(l.bytes) });
    }
    const env = v.env;
    if (env) {
      f |= F_ENV;
      if (v.crc === undefined) f |= F_NO_CRC;
      let s = sidIdx.get(env.sid);
      if (s === undefined) {
        s = r.sids.length;
        r.sids.push(env.sid);
        sidIdx.set(env.sid, s);
      }
      let t = typeIdx.get(env.type);
      if (t === undefined) {
        t = r.types.length;
        r.types.push(env.type);
        typeIdx.set(env.type, t);
      }
      r.sid[i] = s;
      r.type[i] = t;
      r.sseq[i] = env.seq;
      r.ts[i] = tsMs(env.ts);
      r.fp[i] = fingerprint(env.id);
      if (env.type === 'sink.dropped') {
        const from = env.data.from_seq;
        const to = env.data.to_seq;
        if (typeof from === 'number' && typeof to === 'number' && to >= from) r.dropped.push({ i, from, to });
      } else if (env.type === 'session.start' && typeof env.data.lock_backend === 'string') r.backends.push(env.data.lock_backend);
    }
    r.flags[i] = f;
  }
  return r;
}

/** Objects to transfer (not copy) when posting a result back. */
export function resultTransfer(r: PacketResult): ArrayBuffer[] {
  return [r.flags.buffer, r.sseq.buffer, r.sid.buffer, r.type.buffer, r.ts.buffer, r.fp.buffer] as ArrayBuffer[];
}

export function packetTransfer(p: Packet): ArrayBuffer[] {
  return [p.bytes.buffer, p.start.buffer, p.end.buffer, p.offset.buffer, p.length.buffer, p.lflags.buffer] as ArrayBuffer[];
}
