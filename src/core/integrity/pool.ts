import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { classifyPacket, Packet, PacketResult, packetTransfer } from './packet';
import { IntegrityError } from './reader';

/** Small young generations keep each worker's footprint down. */
const YOUNG_MB = 8;

/** Where the worker script sits: next to this module (dist/ for the bundles, out/ for tests). */
export function workerScript(): string | undefined {
  const p = path.join(__dirname, 'verifyWorker.js');
  return fs.existsSync(p) ? p : undefined;
}

/**
 * Classifies packets in worker threads (or in-process with 0 workers) and applies the results
 * strictly in packet order. Owns the read buffers: a fixed set (2 in-process, 2 per worker + 2 with
 * workers) that travel to a worker and back with their result, so memory stays flat.
 */
export class PacketPool {
  private readonly workers: Worker[] = [];
  private next = 0;
  private inFlight = 0;
  private nextToApply = 0;
  private readonly done = new Map<number, { p: Packet; r: PacketResult }>();
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  /** In-process: one result whose arrays are reused packet after packet. */
  private spare: PacketResult | undefined;
  private readonly free: Uint8Array[] = [];

  constructor(
    count: number,
    readonly bufferSize: number,
    private readonly apply: (p: Packet, r: PacketResult) => void,
  ) {
    const script = count > 0 ? workerScript() : undefined;
    if (script) {
      for (let i = 0; i < count; i++) {
        const w = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB, maxOldGenerationSizeMb: 64 } });
        w.on('message', (m: { p: Packet; r: PacketResult }) => this.onResult(m.p, m.r));
        w.on('error', (err) => this.fail(err));
        this.workers.push(w);
      }
    }
    const buffers = this.workers.length ? 2 * this.workers.length + 2 : 2;
    for (let i = 0; i < buffers; i++) this.free.push(new Uint8Array(bufferSize));
  }

  get parallel(): number {
    return this.workers.length;
  }

  /** A free read buffer (waits for one to come back from a worker). */
  async acquire(): Promise<Uint8Array> {
    for (;;) {
      if (this.failure) throw this.failure;
      const b = this.free.pop();
      if (b) return b;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  release(b: Uint8Array): void {
    if (b.byteLength === this.bufferSize) this.free.push(b);
    this.wake();
  }

  submit(p: Packet): void {
    if (this.failure) throw this.failure;
    if (!this.workers.length) {
      this.spare = classifyPacket(p, this.spare);
      this.nextToApply++;
      try {
        this.apply(p, this.spare);
      } finally {
        if (p.pooled) this.release(p.bytes);
      }
      return;
    }
    this.inFlight++;
    this.workers[this.next++ % this.workers.length]!.postMessage(p, packetTransfer(p));
  }

  private onResult(p: Packet, r: PacketResult): void {
    this.done.set(r.seq, { p, r });
    try {
      for (let x = this.done.get(this.nextToApply); x; x = this.done.get(this.nextToApply)) {
        this.done.delete(this.nextToApply);
        this.nextToApply++;
        this.inFlight--;
        this.apply(x.p, x.r);
        if (x.p.pooled) this.free.push(x.p.bytes);
      }
    } catch (err) {
      this.fail(err as Error);
    }
    this.wake();
  }

  private fail(err: Error): void {
    this.failure ??= err instanceof IntegrityError ? err : new IntegrityError('ERR_READ', `verify worker failed: ${err.message}`);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async drain(): Promise<void> {
    while (this.inFlight > 0 && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
