/**
 * Ships an events file set into ClickHouse, exactly once after FINAL:
 *  1. a held ShipLock (election.ts) makes it the only shipper of this (file set, destination);
 *  2. the cursor (cursor.ts) says, per file, up to which line start everything was acknowledged;
 *  3. batches go out in order, one in flight; the cursor is written (temp, fsync, rename) only
 *     after the server acknowledged the batch, so a crash at any point re-sends at most the batches
 *     after the last cursor write, and ReplacingMergeTree ORDER BY (sid, seq) keeps each event once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batcher, SealedBatch } from './batch';
import { ClickHouseHttp, Destination, MISSING_TABLE_CODES } from './clickhouse';
import { Cursor, Gap, newCursor, readCursor, removeCursor, shipPaths, writeCursor } from './cursor';
import { ensureSchema } from './ddl';
import { describeShipError, ShipError } from './errors';
import { originValue } from './identity';
import { COLUMNS, FastRows, tsv } from './rows';
import type { IdentityMode } from './settings';
import { PassHost, PassResult, Problem, shipPass } from './pass';
import { DEFAULT_RETRY, RetryPolicy, sleep, withRetry } from './retry';
import { removeStaleTemps } from './safeFs';
import { emptyStatus, fromCursor, ShipStatus } from './status';

export interface HeldLock {
  /** False once the lock was lost (lock-file fallback broken by another process). */
  held(): boolean;
}

export interface ShipOptions {
  file: string;
  dest: Destination;
  lock: HeldLock;
  follow?: boolean;
  /** Follow mode: how often to look for new lines (default 1000 ms). */
  pollMs?: number;
  batchRows?: number;
  batchBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** false: every line parsed and checked in full, none taken by verify's header scanner (same rows; tests and the benchmark compare). */
  fast?: boolean;
  identity?: IdentityMode;
  resetCursor?: boolean;
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  maxProblems?: number;
  onStatus?: (s: ShipStatus) => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export interface ShipResult {
  file: string;
  destination: string;
  cursor: string;
  caughtUp: boolean;
  stopped: boolean;
  shipped: number;
  batches: number;
  retriedBatches: number;
  invalid: number;
  invalidByCode: Record<string, number>;
  problems: Problem[];
  problemsTotal: number;
  gaps: Gap[];
  reshipped: number;
  /** Passes run again because a repair rewrote the set while they read it (ERR_CHANGED). */
  changedPasses: number;
  shippedUpTo?: string;
  elapsedMs: number;
  rowsPerSecond: number;
  /** CPU time of this process (user + system) during the run. */
  cpuMs: number;
  maxRssMB: number;
}

/**
 * Measured here (1M events): 10,000-row INSERTs took 1.5–2× the wall time of 25,000–100,000-row ones
 * (more parts to write and merge); 50,000 rows / 16 MiB took peak RSS to 166 MB, 25,000 / 8 MiB 141 MB.
 */
export const DEFAULT_BATCH_ROWS = 25_000;
const INSERT_COLUMNS = COLUMNS.map((c) => c.name);
export const DEFAULT_BATCH_BYTES = 8 << 20;
/** Passes tried when a repair keeps changing the set (~25 s in all), without --follow. */
const CHANGED_TRIES = 15;
const CHANGED_WAIT_MS = 250;

export class Shipper {
  readonly file: string;
  readonly ch: ClickHouseHttp;
  readonly paths: { key: string; cursor: string; lock: string };
  readonly status: ShipStatus;
  private cursor!: Cursor;
  private readonly retry: RetryPolicy;
  private readonly result: ShipResult;
  private planned = 0;
  private done = 0;
  private avgLine = 300;
  private readonly log: NonNullable<ShipOptions['log']>;

  constructor(private readonly o: ShipOptions) {
    this.file = path.resolve(o.file);
    this.ch = new ClickHouseHttp(o.dest);
    this.paths = shipPaths(this.file, this.ch.label);
    this.status = emptyStatus(this.ch.label, 'shipping');
    this.retry = { ...DEFAULT_RETRY, ...(o.follow ? {} : { giveUpMs: 300_000 }), ...o.retry };
    this.log = o.log ?? (() => undefined);
    this.result = { file: this.file, destination: this.ch.label, cursor: this.paths.cursor, caughtUp: false, stopped: false, shipped: 0, batches: 0, retriedBatches: 0, invalid: 0, invalidByCode: {}, problems: [], problemsTotal: 0, gaps: [], reshipped: 0, changedPasses: 0, elapsedMs: 0, rowsPerSecond: 0, cpuMs: 0, maxRssMB: 0 };
  }

  /** Ships until caught up (or, with `follow`, until the signal aborts). Throws ShipError on failure. */
  async run(): Promise<ShipResult> {
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    try {
      removeStaleTemps(this.paths.cursor);
      if (this.o.resetCursor) removeCursor(this.paths.cursor);
      this.cursor = readCursor(this.paths.cursor, this.file, this.ch.label) ?? newCursor(this.file, this.ch.label);
      fromCursor(this.status, this.cursor);
      const origin = tsv(originValue(this.o.identity ?? 'hashed', this.file));
      await withRetry(() => ensureSchema(this.ch, this.o.signal), this.retry, this.o.signal, (err, n, wait) => this.retrying(err, n, wait));
      await this.loop(this.host(origin));
    } catch (err) {
      if (!(err instanceof ShipError && err.code === 'ERR_CANCELLED')) {
        this.fail(err);
        throw err;
      }
      this.result.stopped = true;
      this.setPhase('stopped');
    } finally {
      this.ch.close();
      this.result.elapsedMs = Date.now() - t0;
      this.result.rowsPerSecond = this.result.elapsedMs ? Math.round(this.result.shipped / (this.result.elapsedMs / 1000)) : 0;
      const cpu = process.cpuUsage(cpu0);
      this.result.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
      this.result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    }
    return this.result;
  }

  private async loop(host: PassHost): Promise<void> {
    let last: { ino: string; size: number } | undefined;
    let lastPassAt = 0;
    let busyPasses = 0;
    for (;;) {
      this.setPhase('catching_up');
      const r = await this.settledPass(host);
      last = r.live;
      lastPassAt = Date.now();
      busyPasses = r.liveSkipped ? busyPasses + 1 : 0;
      if (!r.liveSkipped) {
        this.status.behindEvents = 0;
        this.status.behindBytes = 0;
        this.status.behindApprox = false;
        this.setPhase('caught_up');
      }
      if (!this.o.follow) {
        if (!r.liveSkipped) break;
        if (busyPasses >= 3) {
          this.log('warn', `the live file's lock stayed busy for ${3 * (this.o.lockTimeoutMs ?? 10_000)} ms: its newest lines were not shipped this time`);
          this.result.caughtUp = false;
          return;
        }
        continue;
      }
      // Follow: wait until the live file changes (size or inode), or 30 s pass (rotated files can
      // still receive a line from a writer that opened them before rotation).
      for (;;) {
        await sleep(this.o.pollMs ?? 1000, this.o.signal);
        if (r.liveSkipped || Date.now() - lastPassAt > 30_000 || changed(this.file, last)) break;
      }
    }
    this.result.caughtUp = true;
  }

  /**
   * A pass that met a repair (ERR_CHANGED: it rewrote the set while it was read, or is running, or was
   * interrupted) is run again, never skipped: the new epoch makes the next pass read the rewritten
   * files from 0. What was read before is made durable first (valid events; its offsets carry the old
   * epoch). Without --follow it gives up after CHANGED_TRIES with the error (exit code from ERR_CHANGED).
   */
  private async settledPass(host: PassHost): Promise<PassResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await shipPass(host);
      } catch (err) {
        if (!(err instanceof ShipError && err.code === 'ERR_CHANGED')) throw err;
        await host.batcher.flush();
        this.result.changedPasses++;
        if (!this.o.follow && attempt >= CHANGED_TRIES) throw err;
        this.log('warn', `${err.message} (pass ${attempt}); reading again`);
        await sleep(Math.min(CHANGED_WAIT_MS * attempt, 2000), this.o.signal);
      }
    }
  }

  private host(origin: string): PassHost {
    const batcher = new Batcher({ send: (body) => this.send(body), commit: (b) => this.commit(b) }, this.o.batchRows ?? DEFAULT_BATCH_ROWS, this.o.batchBytes ?? DEFAULT_BATCH_BYTES);
    const maxProblems = this.o.maxProblems ?? 100;
    return {
      file: this.file,
      cursor: this.cursor,
      signal: this.o.signal,
      lockTimeoutMs: this.o.lockTimeoutMs ?? 10_000,
      origin,
      batcher,
      fast: this.o.fast === false ? undefined : new FastRows(),
      saveCursor: () => writeCursor(this.paths.cursor, this.cursor),
      gaps: (g) => this.gaps(g),
      reshipped: (name, why) => {
        this.result.reshipped++;
        this.cursor.totals.reshipped++;
        this.log('warn', `shipping ${name} again from its start: ${why}; rows already sent collapse under FINAL`);
      },
      problem: (p) => {
        // Each one is counted (cursor totals, by code); the first maxProblems are listed and logged.
        if (++this.result.problemsTotal > maxProblems) return;
        this.result.problems.push(p);
        this.log('warn', `not shipped: ${path.basename(p.file)} line ${p.line} (offset ${p.offset}): ${p.code}: ${p.message}${this.result.problemsTotal === maxProblems ? ' (further damaged lines are counted, not listed)' : ''}`);
      },
      planned: (bytes) => {
        this.planned = bytes;
        this.done = 0;
        this.updateBehind();
      },
    };
  }

  private gaps(g: Gap[]): void {
    const c = this.cursor;
    for (const x of g) {
      c.totals.gaps++;
      c.totals.gapBytes += x.bytes;
      this.result.gaps.push(x);
      this.log('warn', `gap: ${x.name} was removed (retention?) before it was shipped: ${x.bytes} bytes${x.live ? ' or more (it was the live file when last seen)' : ''} not shipped`);
    }
    c.recentGaps = [...c.recentGaps, ...g].slice(-20);
    this.status.gaps = c.totals.gaps;
  }

  private async send(body: Buffer): Promise<void> {
    let retried = false;
    let missingTable = false;
    await withRetry(
      async () => {
        if (!this.o.lock.held()) throw new ShipError('ERR_SHIP_LOCK_LOST', 'the shipping lock was taken by another process; stopping so that only one shipper runs');
        if (missingTable) await ensureSchema(this.ch, this.o.signal);
        await this.ch.insert(body, INSERT_COLUMNS, this.o.signal);
      },
      this.retry,
      this.o.signal,
      (err, n, wait) => {
        if (!retried) this.cursor.totals.retriedBatches++;
        retried = true;
        missingTable = err.chCode !== undefined && MISSING_TABLE_CODES.has(err.chCode);
        this.retrying(err, n, wait);
      },
    );
    if (retried) this.result.retriedBatches++;
    this.status.batchesThisRun++;
  }

  private commit(b: SealedBatch): void {
    const t = this.cursor.totals;
    let bytes = 0;
    for (const m of b.marks.values()) {
      bytes += Math.max(0, m.offset - m.entry.offset);
      m.entry.offset = m.offset;
      m.entry.line = m.line;
    }
    let invalid = 0;
    for (const [code, k] of b.invalid) {
      t.invalidByCode[code] = (t.invalidByCode[code] ?? 0) + k;
      this.result.invalidByCode[code] = (this.result.invalidByCode[code] ?? 0) + k;
      invalid += k;
    }
    t.invalid += invalid;
    t.shipped += b.rows;
    t.bytes += bytes;
    if (b.rows) t.batches++;
    if (b.lastTs) this.cursor.lastTs = b.lastTs;
    writeCursor(this.paths.cursor, this.cursor);
    // Counted only once durable: what the result reports is what the cursor says.
    this.result.shipped += b.rows;
    this.result.invalid += invalid;
    if (b.rows) this.result.batches++;
    this.result.shippedUpTo = this.cursor.lastTs;
    if (b.rows + invalid > 0 && bytes > 0) this.avgLine = this.avgLine * 0.7 + (bytes / (b.rows + invalid)) * 0.3;
    this.done += bytes;
    this.status.shippedThisRun += b.rows;
    fromCursor(this.status, this.cursor);
    if (this.status.phase === 'retrying') this.status.phase = 'catching_up';
    this.updateBehind();
  }

  private updateBehind(): void {
    const bytes = Math.max(0, this.planned - this.done);
    this.status.behindBytes = bytes;
    this.status.behindEvents = Math.round(bytes / Math.max(1, this.avgLine));
    this.status.behindApprox = bytes > 0;
    this.emit();
  }

  private retrying(err: ShipError, attempt: number, waitMs: number): void {
    const d = describeShipError(err);
    this.status.lastError = { ...d, at: new Date().toISOString() };
    this.status.retriedBatches = this.cursor?.totals.retriedBatches ?? this.status.retriedBatches;
    this.setPhase('retrying');
    this.log('warn', `ClickHouse not accepting (attempt ${attempt}, next in ${(waitMs / 1000).toFixed(1)} s): ${d.code}: ${d.message}`);
  }

  private fail(err: unknown): void {
    const d = describeShipError(err);
    this.status.lastError = { ...d, at: new Date().toISOString() };
    this.setPhase('failed');
    this.log('error', `shipping stopped: ${d.code}: ${d.message}`);
  }

  private setPhase(p: ShipStatus['phase']): void {
    this.status.phase = p;
    this.emit();
  }

  private emit(): void {
    this.status.updatedAt = new Date().toISOString();
    this.o.onStatus?.(this.status);
  }
}

function changed(file: string, last: { ino: string; size: number } | undefined): boolean {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  if (!st) return last !== undefined;
  return !last || String(st.ino) !== last.ino || Number(st.size) !== last.size;
}
