import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { classifyLine, LineProblem } from './classify';
import { IntegrityError, lockAll, scanLines } from './reader';
import { splitName, stamp } from '../sink/rotation';
import { LockMode } from '../sink/locks';

export interface RepairOptions {
  file: string;
  lockTimeoutMs?: number;
  maxLineBytes?: number;
  lock?: LockMode;
  signal?: AbortSignal;
  /** Test hook: called after the temp files are written, before the rename. */
  beforeRename?: () => void;
}

export interface QuarantineRecord {
  line: number;
  offset: number;
  reason: LineProblem;
  message: string;
  /** Raw bytes as text (valid UTF-8) … */
  text?: string;
  /** … or base64 when they are not. */
  base64?: string;
  /** False only for a last line that had no trailing newline. */
  newline: boolean;
}

export interface RepairResult {
  file: string;
  /** Nothing was damaged: the file was left untouched. */
  clean: boolean;
  linesKept: number;
  linesMoved: number;
  bytesKept: number;
  bytesMoved: number;
  byReason: Partial<Record<LineProblem, number>>;
  quarantine?: string;
}

/**
 * Lossless repair under every backend's exclusive lock: valid lines go to a temp file (0600) in the
 * same folder, damaged ones to `<stem>.quarantine-<stamp>.jsonl` (one JSON object per line, raw bytes
 * kept), both fsynced, the temp renamed over the original, the folder fsynced.
 * Valid lines + quarantined lines rebuild the original byte for byte (see `rebuild`).
 */
export async function repair(opts: RepairOptions): Promise<RepairResult> {
  const file = path.resolve(opts.file);
  const maxLine = opts.maxLineBytes ?? 1024 * 1024;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IntegrityError('ERR_NOT_FOUND', `no such file: ${file}`);
    throw new IntegrityError('ERR_READ', `cannot open ${file} for repair: ${(err as Error).message}`);
  }
  let held: Awaited<ReturnType<typeof lockAll>> | undefined;
  try {
    held = await lockAll(file, fd, opts.lockTimeoutMs ?? 5000, false, opts.lock ?? 'auto').catch((err: unknown) => {
      if (err instanceof IntegrityError && err.code === 'ERR_LOCK_TIMEOUT') {
        throw new IntegrityError('ERR_LOCK_TIMEOUT', `repair refused: ${err.message}; nothing was changed`);
      }
      throw err;
    });
    const size = fs.fstatSync(fd).size;
    const res: RepairResult = { file, clean: true, linesKept: 0, linesMoved: 0, bytesKept: 0, bytesMoved: 0, byReason: {} };

    // Pass 1: is there anything to move? (A clean file is never rewritten: repair is idempotent.)
    await scanLines(file, size, (l) => {
      if (classifyLine(l, maxLine).problem) res.clean = false;
    }, { fd, bufferCap: maxLine, signal: opts.signal });
    if (res.clean) {
      res.linesKept = -1; // not counted on the fast path
      return res;
    }

    const { dir, stem, ext } = splitName(file);
    const tmp = path.join(dir, `.${stem}.repair-${randomBytes(4).toString('hex')}.tmp`);
    const qpath = path.join(dir, `${stem}.quarantine-${stamp()}${ext || '.jsonl'}`);
    const out = fs.openSync(tmp, 'wx', 0o600);
    const q = fs.openSync(qpath, 'wx', 0o600);
    let ok = false;
    try {
      const outBuf = new BufferedWriter(out);
      const qBuf = new BufferedWriter(q);
      await scanLines(file, size, (l) => {
        const v = classifyLine(l, maxLine);
        if (!v.problem) {
          outBuf.write(l.bytes);
          outBuf.write(NEWLINE);
          res.linesKept++;
          res.bytesKept += l.length + 1;
          return;
        }
        const rec: QuarantineRecord = { line: l.line, offset: l.offset, reason: v.problem, message: v.message ?? v.problem, newline: l.terminated };
        if (isUtf8(l.bytes)) rec.text = l.bytes.toString('utf8');
        else rec.base64 = l.bytes.toString('base64');
        qBuf.write(Buffer.from(JSON.stringify(rec) + '\n'));
        res.linesMoved++;
        res.bytesMoved += l.length + (l.terminated ? 1 : 0);
        res.byReason[v.problem] = (res.byReason[v.problem] ?? 0) + 1;
      }, { fd, signal: opts.signal }); // no cap: every byte is kept somewhere
      outBuf.end();
      qBuf.end();
      if (res.bytesKept + res.bytesMoved !== size) {
        throw new IntegrityError('ERR_CHANGED', `read ${res.bytesKept + res.bytesMoved} bytes of ${size}: the file changed under the lock; nothing was replaced`);
      }
      fs.fsyncSync(out);
      fs.fsyncSync(q);
      opts.beforeRename?.();
      fs.renameSync(tmp, file);
      fsyncDir(dir);
      ok = true;
    } catch (err) {
      if (err instanceof IntegrityError) throw err;
      throw new IntegrityError('ERR_WRITE', `repair failed, the original is untouched: ${(err as Error).message}`);
    } finally {
      fs.closeSync(out);
      fs.closeSync(q);
      if (!ok) {
        fs.rmSync(tmp, { force: true });
        fs.rmSync(qpath, { force: true });
      }
    }
    res.quarantine = qpath;
    return res;
  } finally {
    held?.release();
    fs.closeSync(fd);
  }
}

const NEWLINE = Buffer.from('\n');

class BufferedWriter {
  private parts: Buffer[] = [];
  private len = 0;
  constructor(private readonly fd: number) {}
  write(b: Buffer): void {
    // Copy: the reader reuses its buffers after the callback.
    this.parts.push(Buffer.from(b));
    this.len += b.length;
    if (this.len >= 1 << 20) this.end();
  }
  end(): void {
    if (!this.len) return;
    const all = Buffer.concat(this.parts, this.len);
    let off = 0;
    while (off < all.length) off += fs.writeSync(this.fd, all, off, all.length - off);
    this.parts = [];
    this.len = 0;
  }
}

function fsyncDir(dir: string): void {
  let d: number | undefined;
  try {
    d = fs.openSync(dir, 'r');
    fs.fsyncSync(d);
  } catch {
    /* some platforms cannot fsync a folder; the rename is still atomic */
  } finally {
    if (d !== undefined) fs.closeSync(d);
  }
}

/**
 * Rebuilds the original bytes from a repaired file and its quarantine file (the proof that
 * repair loses nothing; also usable by people who want a line back).
 */
export function rebuild(repairedFile: string, quarantineFile: string): Buffer {
  const kept = fs.readFileSync(repairedFile);
  const q = fs.readFileSync(quarantineFile, 'utf8').split('\n').filter(Boolean).map((s) => JSON.parse(s) as QuarantineRecord);
  const out: Buffer[] = [];
  let pos = 0;
  let lineNo = 1;
  for (const rec of q) {
    while (lineNo < rec.line) {
      const nl = kept.indexOf(10, pos);
      out.push(kept.subarray(pos, nl + 1));
      pos = nl + 1;
      lineNo++;
    }
    out.push(rec.base64 !== undefined ? Buffer.from(rec.base64, 'base64') : Buffer.from(rec.text ?? '', 'utf8'));
    if (rec.newline) out.push(NEWLINE);
    lineNo++;
  }
  out.push(kept.subarray(pos));
  return Buffer.concat(out);
}
