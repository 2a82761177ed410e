import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { LineProblem, Verdict } from '../classify';
import { RawLine, scanLines } from '../reader';
import { copyRange, IO_CHUNK, OutFile, preadAll } from './io';

export interface QuarantineRecord {
  line: number;
  offset: number;
  reason: LineProblem;
  message: string;
  /** False only for a last line that had no trailing newline. */
  newline: boolean;
  /** Raw bytes as text (valid UTF-8) … */
  text?: string;
  /** … or base64 when they are not, or when the line is longer than the cap (streamed). */
  base64?: string;
}

const B64_TAG = ',"base64":"';
/** Raw bytes per base64 step (a multiple of 3). */
const B64_STEP = 48 * 1024;
/** Quarantine records are read with this cap; a longer one is a streamed base64 record. */
const RECORD_CAP = 8 * 1024 * 1024;

/**
 * Writes one quarantine record per damaged line. Lines up to the cap are in memory already; a longer
 * one (a 2 GB line without newline, a 100 MB zero-filled line) is streamed from the file as base64
 * in bounded chunks, so no whole-line buffer or string is ever built.
 */
export class QuarantineWriter {
  constructor(
    private readonly out: OutFile,
    private readonly src: number,
    private readonly chunk = IO_CHUNK,
  ) {}

  add(l: RawLine, v: Verdict): Promise<void> | undefined {
    const head: QuarantineRecord = { line: l.line, offset: l.offset, reason: v.problem!, message: v.message ?? v.problem!, newline: l.terminated };
    if (l.truncated) return this.stream(head, l);
    if (isUtf8(l.bytes)) head.text = l.bytes.toString('utf8');
    else head.base64 = l.bytes.toString('base64');
    return this.out.write(Buffer.from(JSON.stringify(head) + '\n'));
  }

  private async stream(head: QuarantineRecord, l: RawLine): Promise<void> {
    await this.out.write(Buffer.from(JSON.stringify(head).slice(0, -1) + B64_TAG));
    let rest = Buffer.alloc(0);
    // Small steps keep each base64 string in V8's young generation: freed at once, RSS stays flat.
    const step = Math.max(3, Math.min(this.chunk, B64_STEP) - (Math.min(this.chunk, B64_STEP) % 3));
    await copyRange(this.src, l.offset, l.length, async (b) => {
      const all = rest.length ? Buffer.concat([rest, b]) : b;
      const whole = all.length - (all.length % 3);
      await this.out.write(Buffer.from(all.subarray(0, whole).toString('base64')));
      rest = Buffer.from(all.subarray(whole));
    }, step);
    await this.out.write(Buffer.from(rest.toString('base64') + '"}\n'));
  }
}

/** Where one record's bytes are: in the parsed record, or streamed base64 in the quarantine file. */
interface RecordRef {
  line: number;
  newline: boolean;
  bytes?: Buffer;
  b64?: { from: number; to: number };
}

async function readRecords(quarantine: string): Promise<RecordRef[]> {
  const refs: RecordRef[] = [];
  const fd = fs.openSync(quarantine, 'r');
  try {
    await scanLines(quarantine, fs.fstatSync(fd).size, async (l) => {
      if (!l.terminated || l.length === 0) return;
      if (!l.truncated) {
        const r = JSON.parse(l.bytes.toString('utf8')) as QuarantineRecord;
        refs.push({ line: r.line, newline: r.newline, bytes: r.base64 !== undefined ? Buffer.from(r.base64, 'base64') : Buffer.from(r.text ?? '', 'utf8') });
        return;
      }
      const head = Buffer.alloc(Math.min(l.length, 64 * 1024));
      await preadAll(fd, head, head.length, l.offset);
      const at = head.indexOf(B64_TAG);
      if (at === -1) throw new Error(`quarantine line ${l.line} is too long and is not a streamed base64 record`);
      const r = JSON.parse(head.subarray(0, at).toString('utf8') + '}') as QuarantineRecord;
      refs.push({ line: r.line, newline: r.newline, b64: { from: l.offset + at + B64_TAG.length, to: l.offset + l.length - 2 } });
    }, { fd, bufferCap: RECORD_CAP });
  } finally {
    fs.closeSync(fd);
  }
  return refs.sort((a, b) => a.line - b.line);
}

/** Offsets of line starts in a file, read forward once. */
class LineCursor {
  private readonly buf = Buffer.allocUnsafe(IO_CHUNK);
  private bufAt = 0;
  private bufLen = 0;
  pos = 0;
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {}
  /** Moves past `n` more newlines (or to the end of the file) and returns the new position. */
  async skipLines(n: number): Promise<number> {
    while (n > 0 && this.pos < this.size) {
      if (this.pos >= this.bufAt + this.bufLen) {
        this.bufAt = this.pos;
        this.bufLen = await preadAll(this.fd, this.buf, Math.min(this.buf.length, this.size - this.pos), this.pos);
      }
      const nl = this.buf.subarray(0, this.bufLen).indexOf(10, this.pos - this.bufAt);
      if (nl === -1) this.pos = this.bufAt + this.bufLen;
      else {
        this.pos = this.bufAt + nl + 1;
        n--;
      }
    }
    return this.pos;
  }
}

/**
 * Streams the original bytes back from a repaired file and its quarantine file: the proof that
 * repair loses nothing (kept + quarantined = the original, byte for byte; lines appended after the
 * repair follow at the end), and a way to get any line back. Bounded memory for any line length.
 */
export async function rebuildTo(repaired: string, quarantine: string, sink: (b: Buffer) => Promise<void> | void): Promise<void> {
  const refs = await readRecords(quarantine);
  const fd = fs.openSync(repaired, 'r');
  const qfd = fs.openSync(quarantine, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const cur = new LineCursor(fd, size);
    const copy = async (from: number, to: number): Promise<void> => copyRange(fd, from, to - from, async (b) => sink(b));
    let outLine = 1;
    for (const r of refs) {
      const from = cur.pos;
      await copy(from, await cur.skipLines(r.line - outLine));
      if (r.bytes) await sink(r.bytes);
      else await decodeRange(qfd, r.b64!.from, r.b64!.to, sink);
      if (r.newline) await sink(Buffer.from('\n'));
      outLine = r.line + 1;
    }
    await copy(cur.pos, size);
  } finally {
    fs.closeSync(fd);
    fs.closeSync(qfd);
  }
}

async function decodeRange(fd: number, from: number, to: number, sink: (b: Buffer) => Promise<void> | void): Promise<void> {
  let rest = '';
  await copyRange(fd, from, to - from, async (b) => {
    const s = rest + b.toString('latin1');
    const whole = s.length - (s.length % 4);
    await sink(Buffer.from(s.slice(0, whole), 'base64'));
    rest = s.slice(whole);
  }, (B64_STEP / 3) * 4);
  if (rest) await sink(Buffer.from(rest, 'base64'));
}

/** rebuildTo into one Buffer (small files: tests, a line or two). */
export async function rebuild(repaired: string, quarantine: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  await rebuildTo(repaired, quarantine, (b) => void parts.push(Buffer.from(b)));
  return Buffer.concat(parts);
}
