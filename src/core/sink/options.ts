import * as fs from 'node:fs';
import * as path from 'node:path';
import { SinkError } from './errors';
import { checkSource, MAX_LINE_BYTES, newSessionId } from './envelope';
import { defaultEventsFile } from './paths';
import type { RetentionPolicy } from './rotation';
import type { FsyncPolicy, LockMode } from '../lists';

export type { FsyncPolicy } from '../lists';
export type LogLevel = 'info' | 'warn' | 'error';
export type WriteImpl = (fd: number, buf: Buffer, offset: number, length: number) => number;

export interface RotationOptions extends RetentionPolicy {
  /** Rotate before a batch would take the live file past this size (0 = never rotate). */
  maxBytes: number;
}

export interface SinkOptions {
  file?: string;
  /** Default `source` of events recorded without one. */
  source?: string;
  sid?: string;
  lock?: LockMode;
  lockTimeoutMs?: number;
  staleLockMs?: number;
  fsync?: FsyncPolicy;
  flushIntervalMs?: number;
  /** Queue this many bytes and a flush starts at once instead of waiting for the interval. */
  flushAtBytes?: number;
  maxBatchBytes?: number;
  maxQueueEvents?: number;
  maxQueueBytes?: number;
  /** Longest line (without its newline) an event may make; at most (and by default) MAX_LINE_BYTES. */
  maxEventBytes?: number;
  rotation?: Partial<RotationOptions>;
  log?: (level: LogLevel, message: string) => void;
  /** Test hook: replaces fs.writeSync for the data file (fault injection). */
  writeImpl?: WriteImpl;
  /** Test hook: replaces fs.fsyncSync for the data file. */
  fsyncImpl?: (fd: number) => void;
  /** Measurement hook: called with every lock wait in µs (benchmarks aggregate these). */
  onLockWait?: (us: number) => void;
}

/** SinkOptions with every default filled in and every number made sane. */
export interface SinkConfig {
  file: string;
  sid: string;
  source: string;
  lock: LockMode;
  lockTimeoutMs: number;
  staleLockMs: number;
  fsync: FsyncPolicy;
  flushIntervalMs: number;
  flushAtBytes: number;
  maxBatchBytes: number;
  /** Bytes written under one hold of the lock before it is released (others get their turn). */
  maxHoldBytes: number;
  maxQueueEvents: number;
  maxQueueBytes: number;
  maxEventBytes: number;
  rotation: RotationOptions;
  log: (level: LogLevel, message: string) => void;
  writeImpl: WriteImpl;
  fsyncImpl: (fd: number) => void;
  onLockWait?: (us: number) => void;
}

const DEFAULTS = {
  lockTimeoutMs: 5_000,
  staleLockMs: 10_000,
  flushIntervalMs: 1_000,
  flushAtBytes: 256 * 1024,
  maxBatchBytes: 1024 * 1024,
  maxHoldBytes: 1024 * 1024,
  maxQueueEvents: 50_000,
  maxQueueBytes: 16 * 1024 * 1024,
};

/**
 * Fills in defaults; a number that is not a positive (or, where 0 means "off", non-negative) finite
 * number takes its default. Throws ERR_INVALID_EVENT for a bad sid or source.
 */
export function sinkConfig(opts: SinkOptions): SinkConfig {
  const sid = opts.sid ?? newSessionId();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(sid)) throw new SinkError('ERR_INVALID_EVENT', 'field "sid": 1-64 characters of A-Z a-z 0-9 . _ : -');
  const fsync = opts.fsync ?? 'never';
  return {
    file: path.resolve(opts.file ?? defaultEventsFile()),
    sid,
    source: checkSource(opts.source ?? 'cli'),
    lock: opts.lock ?? 'auto',
    lockTimeoutMs: posInt(opts.lockTimeoutMs, DEFAULTS.lockTimeoutMs),
    staleLockMs: posInt(opts.staleLockMs, DEFAULTS.staleLockMs),
    fsync,
    flushIntervalMs: posInt(opts.flushIntervalMs, DEFAULTS.flushIntervalMs),
    // fsync always: every event is its own batch, written at once.
    flushAtBytes: fsync === 'always' ? 0 : nonNeg(opts.flushAtBytes, DEFAULTS.flushAtBytes),
    maxBatchBytes: posInt(opts.maxBatchBytes, DEFAULTS.maxBatchBytes),
    maxHoldBytes: DEFAULTS.maxHoldBytes,
    maxQueueEvents: posInt(opts.maxQueueEvents, DEFAULTS.maxQueueEvents),
    maxQueueBytes: posInt(opts.maxQueueBytes, DEFAULTS.maxQueueBytes),
    maxEventBytes: Math.min(posInt(opts.maxEventBytes, MAX_LINE_BYTES), MAX_LINE_BYTES),
    rotation: {
      maxBytes: nonNeg(opts.rotation?.maxBytes, 0),
      maxFiles: nonNeg(opts.rotation?.maxFiles, 0),
      maxAgeDays: nonNeg(opts.rotation?.maxAgeDays, 0),
    },
    log: opts.log ?? (() => undefined),
    writeImpl: opts.writeImpl ?? ((fd, buf, off, len) => fs.writeSync(fd, buf, off, len)),
    fsyncImpl: opts.fsyncImpl ?? ((fd) => fs.fsyncSync(fd)),
    ...(opts.onLockWait ? { onLockWait: opts.onLockWait } : {}),
  };
}

function posInt(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : d;
}
function nonNeg(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : d;
}
