import * as fs from 'node:fs';
import { IntegrityError } from '../reader';

/** Chunk for every copy repair makes (journal → file, long lines → quarantine). */
export const IO_CHUNK = 1024 * 1024;

const C = fs.constants;

export function preadAll(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void => {
      fs.read(fd, buf, done, length - done, position + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (n === 0 || done >= length) resolve(done);
        else step();
      });
    };
    step();
  });
}

export function pwriteAll(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void => {
      fs.write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (done >= buf.length) resolve();
        else if (n === 0) reject(Object.assign(new Error('write made no progress'), { code: 'EIO' }));
        else step();
      });
    };
    step();
  });
}

/** Copies [from, from+length) of `src` in bounded chunks to `sink`; the buffer is reused after each call. */
export async function copyRange(src: number, from: number, length: number, sink: (b: Buffer) => Promise<void>, chunk = IO_CHUNK): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunk, length)));
  for (let done = 0; done < length; ) {
    const want = Math.min(buf.length, length - done);
    const n = await preadAll(src, buf, want, from + done);
    if (n < want) throw Object.assign(new Error(`file ended ${length - done - n} bytes early`), { code: 'EIO' });
    await sink(buf.subarray(0, n));
    done += n;
  }
}

/** Writes sequentially from `start` through a bounded buffer (pwrite: the position is explicit). */
export class OutFile {
  private buf: Buffer;
  private used = 0;
  /** Bytes handed to write() so far. */
  written = 0;
  constructor(
    readonly fd: number,
    private readonly start = 0,
    size = IO_CHUNK,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }
  /** Buffers `b`; returns a promise only when it had to write (so per-line callers rarely await). */
  write(b: Buffer): Promise<void> | undefined {
    if (this.used + b.length <= this.buf.length) {
      b.copy(this.buf, this.used);
      this.used += b.length;
      return undefined;
    }
    return this.spill(b);
  }
  private async spill(b: Buffer): Promise<void> {
    await this.flush();
    if (b.length >= this.buf.length) {
      await pwriteAll(this.fd, b, this.start + this.written);
      this.written += b.length;
      return;
    }
    b.copy(this.buf, this.used);
    this.used += b.length;
  }
  async flush(): Promise<void> {
    if (!this.used) return;
    const n = this.used;
    this.used = 0;
    await pwriteAll(this.fd, this.buf.subarray(0, n), this.start + this.written);
    this.written += n;
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

/** When running as root, what repair creates beside another user's file is given to that user. */
export function ownerOf(st: { uid: number; gid: number }): Owner | undefined {
  return process.geteuid?.() === 0 && (st.uid !== 0 || st.gid !== 0) ? { uid: st.uid, gid: st.gid } : undefined;
}

/** A new private file (0600, O_EXCL, never through a symlink), given to `owner` when repair runs as root. */
export function createPrivate(p: string, owner?: Owner): number {
  const fd = fs.openSync(p, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  try {
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(p, { force: true });
    throw err;
  }
  return fd;
}

export function fsyncDir(dir: string): void {
  let d: number | undefined;
  try {
    d = fs.openSync(dir, 'r');
    fs.fsyncSync(d);
  } catch {
    /* some platforms cannot fsync a folder; renames are still atomic */
  } finally {
    if (d !== undefined) fs.closeSync(d);
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

export function unlinkQuietly(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    /* gone already */
  }
}

/** An I/O failure as a coded error (sysCode kept), unless it already is one. */
export function ioError(what: string, err: unknown): IntegrityError {
  if (err instanceof IntegrityError) return err;
  return new IntegrityError('ERR_WRITE', `${what}: ${(err as Error).message}`, err);
}
