/**
 * The small status object the CLI, the status bar, Show Statistics and GET /metrics read.
 * Pure data plus one formatter, so shells add one line each.
 */
import type { Cursor } from './cursor';

export type ShipRole = 'shipping' | 'standby' | 'off';
export type ShipPhase = 'starting' | 'catching_up' | 'caught_up' | 'retrying' | 'failed' | 'stopped';

export interface ShipStatus {
  role: ShipRole;
  phase: ShipPhase;
  /** url/db.table, never credentials. */
  destination: string;
  /** Cumulative over the cursor's life (all shippers of this file set and destination). */
  shippedTotal: number;
  shippedThisRun: number;
  batchesThisRun: number;
  /** Batches that needed more than one attempt (cumulative). */
  retriedBatches: number;
  invalidLines: number;
  invalidByCode: Record<string, number>;
  gaps: number;
  /** ts of the last acknowledged event (write order). */
  shippedUpTo?: string;
  /** Complete lines not yet acknowledged; an estimate from bytes when `behindApprox`. */
  behindEvents: number;
  behindBytes: number;
  behindApprox: boolean;
  lastError?: { code: string; message: string; at: string };
  updatedAt: string;
}

export function emptyStatus(destination: string, role: ShipRole): ShipStatus {
  return { role, phase: role === 'shipping' ? 'starting' : 'stopped', destination, shippedTotal: 0, shippedThisRun: 0, batchesThisRun: 0, retriedBatches: 0, invalidLines: 0, invalidByCode: {}, gaps: 0, behindEvents: 0, behindBytes: 0, behindApprox: false, updatedAt: new Date().toISOString() };
}

/** Fills the cumulative fields from a cursor (what a standby window can know). */
export function fromCursor(s: ShipStatus, c: Cursor | undefined): ShipStatus {
  if (!c) return s;
  s.shippedTotal = c.totals.shipped;
  s.retriedBatches = c.totals.retriedBatches;
  s.invalidLines = c.totals.invalid;
  s.invalidByCode = { ...c.totals.invalidByCode };
  s.gaps = c.totals.gaps;
  s.shippedUpTo = c.lastTs;
  return s;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** "ClickHouse (shipping): shipped up to 2026-11-28 03:13:47Z, 12 events behind; last error …" */
export function statusLine(s: ShipStatus): string {
  const upTo = s.shippedUpTo ? `shipped up to ${s.shippedUpTo.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')}` : 'nothing shipped yet';
  const behind = `${s.behindApprox ? '≈' : ''}${n(s.behindEvents)} event${s.behindEvents === 1 ? '' : 's'} behind`;
  const role = s.role === 'standby' ? 'standby, another window ships' : s.phase.replace('_', ' ');
  const extra = [s.invalidLines ? `${n(s.invalidLines)} damaged lines not shipped` : '', s.gaps ? `${n(s.gaps)} gaps` : ''].filter(Boolean).join(', ');
  const err = s.lastError ? `; last error ${s.lastError.code}: ${s.lastError.message}` : '';
  return `ClickHouse ${s.destination} (${role}): ${upTo}, ${behind}${extra ? `, ${extra}` : ''}${err}`;
}
