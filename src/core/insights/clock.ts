/**
 * Local wall-clock arithmetic for one IANA time zone (pure; Intl/ICU only, no vscode).
 *
 * Aggregates are bucketed by **local hour**: the instant (epoch ms) at which the local hour that
 * contains an event began. A local hour always starts at local minute 0, which is a UTC quarter
 * hour in every zone in use today (offsets are whole multiples of 15 minutes), so the answer is the
 * same for every instant of a UTC quarter hour and is memoised per quarter hour. Days are the local
 * calendar dates of those hour starts: a day across a DST change simply has 23 or 25 hour buckets.
 */
const QUARTER = 15 * 60_000;
// Made on first use: each Intl.DateTimeFormat costs milliseconds, too much for loading the module.
let labels: { plain: Intl.DateTimeFormat; year: Intl.DateTimeFormat } | undefined;
function dayLabels(): { plain: Intl.DateTimeFormat; year: Intl.DateTimeFormat } {
  return (labels ??= {
    plain: new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric' }),
    year: new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' }),
  });
}
const HOUR = 3_600_000;

export interface WallTime {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

export class LocalClock {
  readonly timeZone: string;
  /**
   * What the cache is keyed on: the zone's name, or — when ICU names none (TZ=:/path/to/zoneinfo,
   * valid for glibc) — the TZ value itself, so a cache built under one unnamed zone is not reused
   * under another.
   */
  readonly zoneKey: string;
  private readonly fmt: Intl.DateTimeFormat;
  private readonly memo = new Map<number, number>();
  private readonly days = new Map<number, string>();
  private readonly starts = new Map<string, number>();
  /** The memo's last answer (events come in time order). */
  private lastQ = NaN;
  private lastStart = 0;

  /** `timeZone` undefined = the process's zone (TZ, else the system's). Throws RangeError on an unknown name. */
  constructor(timeZone?: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    this.timeZone = this.fmt.resolvedOptions().timeZone;
    this.zoneKey = (this.timeZone as string | undefined) ?? `unnamed:${timeZone ?? process.env.TZ ?? ''}`;
  }

  wall(t: number): WallTime {
    const w: WallTime = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
    for (const p of this.fmt.formatToParts(t)) {
      if (p.type === 'year') w.y = Number(p.value);
      else if (p.type === 'month') w.mo = Number(p.value);
      else if (p.type === 'day') w.d = Number(p.value);
      else if (p.type === 'hour') w.h = Number(p.value) % 24;
      else if (p.type === 'minute') w.mi = Number(p.value);
      else if (p.type === 'second') w.s = Number(p.value);
    }
    return w;
  }

  /** The instant the local hour containing `t` began. */
  hourStart(t: number): number {
    const q = Math.floor(t / QUARTER);
    if (q === this.lastQ) return this.lastStart;
    const hit = this.memo.get(q);
    if (hit !== undefined) {
      this.lastQ = q;
      this.lastStart = hit;
      return hit;
    }
    const w = this.wall(t);
    const ms = ((t % 1000) + 1000) % 1000;
    const start = t - (w.mi * 60 + w.s) * 1000 - ms;
    // Only memoise where the offset is a whole quarter hour (historic zones had odd seconds).
    const offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) + ms - t;
    if (offset % QUARTER === 0) {
      if (this.memo.size > 8192) this.memo.clear();
      this.memo.set(q, start);
      this.lastQ = q;
      this.lastStart = start;
    }
    return start;
  }

  /** Local calendar date of instant `t` as YYYY-MM-DD. */
  dayKey(t: number): string {
    const h = this.hourStart(t);
    let k = this.days.get(h);
    if (k === undefined) {
      const w = this.wall(h);
      k = `${String(w.y).padStart(4, '0')}-${pad(w.mo)}-${pad(w.d)}`;
      if (this.days.size > 8192) this.days.clear();
      this.days.set(h, k);
    }
    return k;
  }

  /** First instant of local date `day` (midnight, or the first hour that exists when DST skips it). */
  startOfDay(day: string): number {
    let t = this.starts.get(day);
    if (t === undefined) {
      t = this.searchStartOfDay(day);
      if (this.starts.size > 8192) this.starts.clear();
      this.starts.set(day, t);
    }
    return t;
  }

  private searchStartOfDay(day: string): number {
    const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
    // Local midnight lies within 15 h of UTC midnight of the same date: search that window by minute.
    let lo = Math.floor((Date.UTC(y, mo - 1, d) - 15 * HOUR) / 60_000);
    let hi = Math.floor((Date.UTC(y, mo - 1, d) + 15 * HOUR) / 60_000);
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.dayKey(mid * 60_000) >= day) hi = mid;
      else lo = mid + 1;
    }
    return lo * 60_000;
  }

  /** "Sat, Nov 28" (the year is added when `withYear`). */
  dayLabel(day: string, withYear = false): string {
    const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
    const l = dayLabels();
    return (withYear ? l.year : l.plain).format(Date.UTC(y, mo - 1, d));
  }

  /** "14:00" — the local time an hour bucket starts. */
  hourLabel(hourStart: number): string {
    const w = this.wall(hourStart);
    return `${pad(w.h)}:${pad(w.mi)}`;
  }
}

/** YYYY-MM-DD plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, mo - 1, d + n)).toISOString().slice(0, 10);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
