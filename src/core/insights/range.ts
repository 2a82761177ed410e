/**
 * Which local hours a range covers and how its time series is bucketed (pure).
 *   24h — the current local hour and the 23 before it, one bucket per hour;
 *   7d / 30d — today and the 6 / 29 local days before it, one bucket per day;
 *   all — everything; days from the first to the last (the series at most 366 days).
 * Hours older than two days are only kept per day, so `hasDay` says whether such a day counts.
 */
import { addDays, type LocalClock } from './clock';
import type { RangeName } from './report';

const HOUR = 3_600_000;
const MAX_SERIES_DAYS = 366;

export interface RangeSel {
  name: RangeName;
  unit: 'hour' | 'day';
  from: number | null;
  to: number | null;
  /** Is this hour bucket in the range? */
  has(hourStart: number, day: string): boolean;
  /** Is this day bucket (a day of folded hours) in the range? */
  hasDay(day: string): boolean;
  /** Index of the series bucket an hour falls in, or -1. */
  bucket(hourStart: number, day: string): number;
  buckets: Array<{ key: string; label: string }>;
  truncated: boolean;
}

export function selectRange(clock: LocalClock, name: RangeName, now: number, present: Iterable<string>): RangeSel {
  const nowHour = clock.hourStart(now);
  const today = clock.dayKey(now);
  if (name === '24h') {
    const from = nowHour - 23 * HOUR;
    const index = new Map<number, number>();
    const buckets: RangeSel['buckets'] = [];
    for (let t = clock.hourStart(from); t <= nowHour; t = clock.hourStart(t + HOUR)) {
      index.set(t, buckets.length);
      buckets.push({ key: new Date(t).toISOString(), label: clock.hourLabel(t) });
    }
    return { name, unit: 'hour', from, to: nowHour + HOUR, has: (h) => h >= from && h <= nowHour, hasDay: () => false, bucket: (h) => index.get(h) ?? -1, buckets, truncated: false };
  }
  let first: string;
  let last: string;
  let has: RangeSel['has'];
  if (name === 'all') {
    first = today;
    last = '';
    for (const d of present) {
      if (d < first) first = d;
      if (d > last) last = d;
    }
    if (!last) last = today;
    has = () => true;
  } else {
    first = addDays(today, name === '7d' ? -6 : -29);
    last = today;
    const f = first;
    has = (_h, day) => day >= f && day <= today;
  }
  const seriesFirst = addDays(last, -(MAX_SERIES_DAYS - 1)) > first ? addDays(last, -(MAX_SERIES_DAYS - 1)) : first;
  const days = daysBetween(seriesFirst, last);
  const index = new Map(days.map((d, i) => [d, i]));
  const withYear = first.slice(0, 4) !== last.slice(0, 4);
  return {
    name,
    unit: 'day',
    from: name === 'all' ? null : clock.startOfDay(first),
    to: name === 'all' ? null : clock.startOfDay(addDays(today, 1)),
    has,
    hasDay: (day) => has(NaN, day),
    bucket: (_h, day) => index.get(day) ?? -1,
    buckets: days.map((d) => ({ key: d, label: clock.dayLabel(d, withYear) })),
    truncated: seriesFirst !== first,
  };
}

function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = first; d <= last && out.length < MAX_SERIES_DAYS; d = addDays(d, 1)) out.push(d);
  return out;
}
