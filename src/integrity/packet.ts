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

export const F_ENV = 1;
export const F_PROBLEM = 2;
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
  private start: number[] = [];
  private end: number[] = [];
  private offset: number[] = [];
  private length: number[] = [];
  private lflags: number[] = [];
  private firstLine = 0;
  constructor(private readonly size: number, private readonly maxLine: number, private readonly nextSeq: () => number, private readonly emit: (p: Packet) => void) {
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
    this.buf.set(b, this.used);
    this.start.push(this.used);
    this.used += b.length;
    this.end.push(this.used);
    this.offset.push(l.offset);
    this.length.push(l.length);
    this.lflags.push((l.terminated ? 1 : 0) | (l.truncated ? 2 : 0));
    this.n++;
  }
  private file = 0;

  flush(): void {
    if (this.n === 0) return;
    this.emit({
      seq: this.nextSeq(),
      file: this.file,
      firstLine: this.firstLine,
      n: this.n,
      bytes: this.buf.subarray(0, this.used),
      start: Uint32Array.from(this.start),
      end: Uint32Array.from(this.end),
      offset: Float64Array.from(this.offset),
      length: Float64Array.from(this.length),
      lflags: Uint8Array.from(this.lflags),
      maxLine: this.maxLine,
    });
    // In-process the packet was consumed synchronously and its buffer can be reused; a worker
    // took it (transferred: detached, byteLength 0), so a new one is needed.
    if (this.buf.byteLength === 0 || this.buf.byteLength !== this.size) this.buf = new Uint8Array(this.size);
    this.used = 0;
    this.n = 0;
    this.start = [];
    this.end = [];
    this.offset = [];
    this.length = [];
    this.lflags = [];
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

export function classifyPacket(p: Packet): PacketResult {
  const n = p.n;
  const r: PacketResult = {
    seq: p.seq,
    flags: new Uint8Array(n),
    sseq: new Float64Array(n),
    sid: new Uint32Array(n),
    type: new Uint32Array(n),
    ts: new Float64Array(n),
    fp: new Float64Array(n),
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
      f |= F_PROBLEM;
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
