import { SinkError, describe } from './errors';
import type { Histogram } from './histogram';
import type { LockBackend } from './locks';
import type { DropTracker } from './drops';
import type { LogLevel } from './options';

export interface SinkStats {
  file: string;
  sid: string;
  backend: string;
  /** flock: who makes the flock call (fs-ext or koffi); null for the lock file. */
  lockProvider: string | null;
  backendReason: string;
  accepted: number;
  written: number;
  bytes: number;
  batches: number;
  queued: { events: number; bytes: number };
  lockWait: ReturnType<Histogram['summary']>;
  contention: number;
  lockTimeouts: number;
  tornTailsFenced: number;
  reopens: number;
  rotations: number;
  dropped: { total: number; byReason: Record<string, number> };
  errors: { total: number; byCode: Record<string, number>; last?: { code: string; sysCode?: string; message: string; at: string } };
  fsyncFailures: number;
  unsyncedEvents: number;
  writeRollbacks: number;
  staleLocksBroken: number;
  lockCompromised: number;
}

/** Counters of the locked live file (liveFile.ts). */
export interface LockCounters {
  contention: number;
  lockTimeouts: number;
  reopens: number;
  readonly lockWait: Histogram;
}

/** Counters of the batch writer (batchWriter.ts). */
export interface WriteCounters {
  written: number;
  bytes: number;
  batches: number;
  tornTailsFenced: number;
  rotations: number;
  fsyncFailures: number;
  unsyncedEvents: number;
  writeRollbacks: number;
}

/**
 * Every I/O fault goes through report(): counted by code, logged once, handed to listeners (whose
 * bugs cannot break the sink), and returned for the caller's FlushResult.
 */
export class Faults {
  total = 0;
  readonly byCode: Record<string, number> = {};
  last: SinkStats['errors']['last'];
  private readonly listeners = new Set<(err: SinkError) => void>();

  constructor(private readonly log: (level: LogLevel, message: string) => void) {}

  listen(listener: (err: SinkError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  report(err: SinkError): SinkError {
    this.total++;
    this.byCode[err.code] = (this.byCode[err.code] ?? 0) + 1;
    this.last = { code: err.code, message: err.message, at: new Date().toISOString(), ...(err.sysCode ? { sysCode: err.sysCode } : {}) };
    this.log('error', `${err.code}${err.sysCode ? ` (${err.sysCode})` : ''}: ${err.message}`);
    for (const l of this.listeners) {
      try {
        l(err);
      } catch {
        /* a listener's bug must not break the sink */
      }
    }
    return err;
  }
}

/** An error from anything the sink calls, as a SinkError (keeping a SinkError's own code). */
export function asSinkError(err: unknown, fallback: SinkError['code']): SinkError {
  return err instanceof SinkError ? err : new SinkError(fallback, describe(err), err);
}

export interface StatsParts {
  file: string;
  sid: string;
  backend: LockBackend;
  backendReason: string;
  /** Seqs handed out so far. */
  seqs: number;
  queued: { events: number; bytes: number };
  lock: LockCounters;
  write: WriteCounters;
  drops: DropTracker;
  faults: Faults;
}

/** One snapshot of a sink's figures (copies: later counting does not change it). */
export function snapshotStats(p: StatsParts): SinkStats {
  const { lock, write, drops, faults, backend } = p;
  return {
    file: p.file,
    sid: p.sid,
    backend: backend.name,
    lockProvider: backend.provider ?? null,
    backendReason: p.backendReason,
    accepted: p.seqs - drops.withSeq,
    written: write.written,
    bytes: write.bytes,
    batches: write.batches,
    queued: { ...p.queued },
    lockWait: lock.lockWait.summary(),
    contention: lock.contention,
    lockTimeouts: lock.lockTimeouts,
    tornTailsFenced: write.tornTailsFenced,
    reopens: lock.reopens,
    rotations: write.rotations,
    dropped: { total: drops.total, byReason: { ...drops.byReason } },
    errors: { total: faults.total, byCode: { ...faults.byCode }, ...(faults.last ? { last: faults.last } : {}) },
    fsyncFailures: write.fsyncFailures,
    unsyncedEvents: write.unsyncedEvents,
    writeRollbacks: write.writeRollbacks,
    staleLocksBroken: backend.counters.staleBroken + (backend.mixedCounters?.staleBroken ?? 0),
    lockCompromised: backend.counters.compromised + (backend.mixedCounters?.compromised ?? 0),
  };
}
