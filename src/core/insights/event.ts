/**
 * Where a line of the events file becomes an event for statistics: `parseJsonLine` (JSON.parse of
 * the whole line) for any line, and `FastEvents` (fastEvent.ts) for lines verify's header scanner
 * took, which must return the same events (a differential test holds them to it).
 */
import { field, type Data } from './accumulators';

export interface StatsEvent {
  /** Epoch ms of `ts`. */
  t: number;
  type: string;
  sid: string;
  source: string;
  /** `data` when it is an object, else an empty object. */
  data: Data;
}

/** Returns the event, or undefined when the line is not a usable event (counted as unreadable). */
export type LineParser = (bytes: Buffer) => StatsEvent | undefined;

const TS_RE = /^\d{4}-\d{2}-\d{2}T/;
/** Instants past this (and before 1970) make a line unreadable. */
export const MAX_T = Date.UTC(9999, 11, 31);
/** `data` of an event whose data is not an object, or not needed. */
export const EMPTY: Data = Object.freeze(Object.create(null) as Data);

/** The default parser: JSON.parse of the whole line. */
export const parseJsonLine: LineParser = (bytes) => {
  let o: unknown;
  try {
    o = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  return toStatsEvent(o as Data);
};

/** The checks every parser applies to an envelope's members. */
export function toStatsEvent(o: Data): StatsEvent | undefined {
  const type = field(o, 'type');
  const ts = field(o, 'ts');
  const sid = field(o, 'sid');
  if (typeof type !== 'string' || typeof ts !== 'string' || typeof sid !== 'string' || !TS_RE.test(ts)) return undefined;
  const t = Date.parse(ts);
  if (!(t >= 0 && t <= MAX_T)) return undefined;
  const source = field(o, 'source');
  const data = field(o, 'data');
  return { t, type, sid, source: typeof source === 'string' ? source : 'unknown', data: data && typeof data === 'object' && !Array.isArray(data) ? (data as Data) : EMPTY };
}
