/**
 * SessionLedger: every session's seq bookkeeping (see SessionTrack) in bounded memory.
 *
 * The first `maxInMemory` sessions seen are tracked in memory as their events arrive. Any later
 * session is tracked on disk: each of its events becomes a fixed-size record (session key, line
 * ordinal, seq, ts, offset, …) in sorted runs that spill to an unlinked temp file; at the end the
 * runs are merged by (session key, ordinal) and each session is replayed through the same
 * SessionTrack, one session at a time. A session never changes tier, so both tiers see all of its
 * events in file order and report exactly what an all-in-memory run would (ranks keep the order).
 *
 * On disk a session is known by an 84-bit key (two independent hashes of its id): two ids sharing
 * both hashes would be read as one session; the chance is below 10^-12 for 10 million sessions.
 */
import { fingerprint } from './idset';
import { RecordRuns } from './recordRuns';
import { LedgerOut, SessionTrack } from './sessionTrack';

export { SessionTrack } from './sessionTrack';
export type { LedgerCode, LedgerOut, LedgerProblem, LedgerTotals } from './sessionTrack';

export interface SessionRef {
  track: SessionTrack | null;
  k1: number;
  k2: number;
}

/** In-memory sessions before the ledger tracks new ones on disk (~200 bytes each). */
export const DEFAULT_SESSIONS_IN_MEMORY = 20_000;

const W = 8; // k1, k2, ord*2+kind, seq, ts, offset, from, to
const EVENT = 0;
const NOTICE = 1;

/** A second 32-bit hash of the id, independent of idset.fingerprint (other constants, other mixing). */
function hash32(s: string): number {
  let h = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 15), 0x27d4eb2d);
  return (h ^ (h >>> 16)) >>> 0;
}

export class SessionLedger {
  private readonly mem = new Map<string, SessionTrack>();
  private runs: RecordRuns | undefined;
  private readonly rec = new Float64Array(W);

  constructor(
    private readonly out: LedgerOut,
    private readonly maxInMemory = DEFAULT_SESSIONS_IN_MEMORY,
    /** Records per sorted run on disk (tests make it small to merge many runs). */
    private readonly runRecords = 1 << 15,
  ) {}

  /** The session of this id (looked up once per id per packet). */
  resolve(sid: string): SessionRef {
    let track = this.mem.get(sid);
    if (!track && this.mem.size < this.maxInMemory) {
      track = new SessionTrack(sid);
      this.mem.set(sid, track);
    }
    return track ? { track, k1: 0, k2: 0 } : { track: null, k1: fingerprint(sid), k2: hash32(sid) };
  }

  event(ref: SessionRef, seq: number, ts: number, ord: number, offset: number): void {
    if (ref.track) ref.track.event(seq, ts, ord, offset, this.out);
    else this.record(ref, ord * 2 + EVENT, seq, ts, offset, 0, 0);
  }

  /** A sink.dropped that passed the line-level checks; call after `event` for the same line. */
  notice(ref: SessionRef, seq: number, from: number, to: number, ord: number, offset: number): void {
    if (ref.track) ref.track.notice(seq, from, to, ord, offset);
    else this.record(ref, ord * 2 + NOTICE, seq, 0, offset, from, to);
  }

  private record(ref: SessionRef, ordKind: number, seq: number, ts: number, offset: number, from: number, to: number): void {
    const r = this.rec;
    r[0] = ref.k1;
    r[1] = ref.k2;
    r[2] = ordKind;
    r[3] = seq;
    r[4] = ts;
    r[5] = offset;
    r[6] = from;
    r[7] = to;
    (this.runs ??= new RecordRuns(W, this.runRecords)).add(r);
  }

  /** Sessions tracked on disk so far (0 while everything fits in memory). */
  get spilledEvents(): number {
    return this.runs?.count ?? 0;
  }

  /** Reports every session's end-of-run problems; returns the number of sessions. */
  finish(): number {
    for (const t of this.mem.values()) t.finish(this.out);
    let sessions = this.mem.size;
    let track: SessionTrack | undefined;
    let k1 = NaN;
    let k2 = NaN;
    this.runs?.forEachSorted((r, at) => {
      if (r[at] !== k1 || r[at + 1] !== k2) {
        track?.finish(this.out);
        track = new SessionTrack(null);
        k1 = r[at]!;
        k2 = r[at + 1]!;
        sessions++;
      }
      const ordKind = r[at + 2]!;
      const ord = Math.floor(ordKind / 2);
      if (ordKind % 2 === EVENT) track!.event(r[at + 3]!, r[at + 4]!, ord, r[at + 5]!, this.out);
      else track!.notice(r[at + 3]!, r[at + 6]!, r[at + 7]!, ord, r[at + 5]!);
    });
    track?.finish(this.out);
    this.runs = undefined;
    return sessions;
  }

  dispose(): void {
    this.runs?.dispose();
    this.runs = undefined;
  }
}
