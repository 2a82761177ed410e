/**
 * Splits a byte stream into `\n`-terminated lines while holding at most `cap` + 1 bytes of any one
 * line: a longer line is counted and skipped as it streams past, never buffered whole (a 2 GB line
 * costs no memory). A trailing `\r` is dropped (CRLF input). Line numbers start at 1.
 */
export interface InputLine {
  line: number;
  /** The line's bytes without its terminator; undefined when it was longer than the cap. */
  bytes?: Buffer;
  /** Its full length in bytes (without the terminator), even past the cap. */
  length: number;
}

const NL = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private length = 0;
  private lineNo = 0;

  constructor(
    private readonly cap: number,
    private readonly onLine: (l: InputLine) => void,
  ) {}

  /** Feeds one chunk; calls onLine for every line it completes. */
  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(NL, i);
      this.take(chunk.subarray(i, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.emit();
      i = nl + 1;
    }
  }

  /** End of input: a last line without a newline is still a line. */
  end(): void {
    if (this.length > 0) this.emit();
  }

  /** Bytes of a line begun but not ended yet (what a signal would cut short). */
  get pendingBytes(): number {
    return this.length;
  }

  /** Number of the line being read (the next line's number). */
  get nextLine(): number {
    return this.lineNo + 1;
  }

  private take(seg: Buffer): void {
    if (!seg.length) return;
    this.length += seg.length;
    // Keep one byte past the cap: a trailing \r is not part of the line.
    if (this.length <= this.cap + 1) {
      this.parts.push(seg);
      this.kept += seg.length;
    } else if (this.parts.length) {
      this.parts = [];
      this.kept = 0;
    }
  }

  private emit(): void {
    let length = this.length;
    let bytes: Buffer | undefined;
    if (length <= this.cap + 1) {
      // Every byte was kept (they are dropped only past cap + 1).
      bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
      if (bytes.length && bytes[bytes.length - 1] === CR) {
        bytes = bytes.subarray(0, bytes.length - 1);
        length--;
      }
      if (length > this.cap) bytes = undefined;
    }
    this.onLine({ line: ++this.lineNo, length, ...(bytes ? { bytes } : {}) });
    this.parts = [];
    this.kept = 0;
    this.length = 0;
  }
}
