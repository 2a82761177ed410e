/**
 * Turns per-file hour and day buckets into the report for one range (pure).
 * AI groups are first merged per day (one merge per group-hour), and every AI table is derived from
 * those group-days; editor minutes are OR-ed per day across files and languages before counting.
 */
import { AiAcc, Counter, EditAcc, P99_BUCKETS, SinkAcc } from './accumulators';
import { mergeInto, type AiDims, type Bucket, type FileAgg, type SessionAcc } from './fileAgg';
import type { LocalClock } from './clock';
import { selectRange, type RangeSel } from './range';
import { aiFigures, editFigures, round, type AiFigures, type AiModelKey, type RangeName, type StatsReport } from './report';

type GroupDims = [...AiDims, string];

interface Collected {
  types: Counter;
  sources: Counter;
  first: number;
  last: number;
  groupDays: Map<string, AiAcc>;
  /** day → language → activity (minutes from the day's start), merged across files. */
  edits: Map<string, Map<string, EditAcc>>;
  /** For the hourly series: hour start (as a string key) → every language's minutes. */
  hourMinutes: Map<string, EditAcc>;
  sink: SinkAcc;
  cats: Map<string, number[]>;
  aiShown: number[];
  aiAccepted: number[];
}

export function buildReport(aggs: FileAgg[], files: string[], clock: LocalClock, rangeName: RangeName, now: number): StatsReport {
  const days = new Set<string>();
  for (const a of aggs) {
    for (const h of a.hours.keys()) days.add(clock.dayKey(h));
    for (const d of a.days.keys()) days.add(d);
  }
  const sel = selectRange(clock, rangeName, now, days);
  const c = collect(aggs, clock, sel);
  const ai = aiTables(c.groupDays, clock);
  const editor = editTables(c, clock, sel);
  return {
    version: 2,
    // ICU names no zone for a TZ it cannot map to one (TZ=:/usr/share/zoneinfo/…, valid for glibc).
    range: { name: rangeName, from: iso(sel.from), to: iso(sel.to), timeZone: (clock.timeZone as string | undefined) ?? 'local time', unit: sel.unit },
    generatedAt: new Date(now).toISOString(),
    files,
    events: c.types.total(),
    unreadableLines: aggs.reduce((a, f) => a + f.unreadable, 0),
    timeSpan: Number.isFinite(c.first) ? { first: new Date(c.first).toISOString(), last: new Date(c.last).toISOString() } : {},
    byType: rows(c.types).map(([type, events]) => ({ type, events })),
    bySource: rows(c.sources).map(([source, events]) => ({ source, events })),
    sessions: sessions(aggs, sel),
    series: {
      unit: sel.unit,
      buckets: sel.buckets,
      categories: [...c.cats].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([category, counts]) => ({ category, counts })),
      aiShown: c.aiShown,
      aiAccepted: c.aiAccepted,
      activeMinutes: editor.series,
      truncated: sel.truncated,
    },
    ai,
    editor: editor.tables,
    sink: sinkFigures(c.sink),
  };
}

function collect(aggs: FileAgg[], clock: LocalClock, sel: RangeSel): Collected {
  const n = sel.buckets.length;
  const c: Collected = { types: new Counter(), sources: new Counter(), first: Infinity, last: -Infinity, groupDays: new Map(), edits: new Map(), hourMinutes: new Map(), sink: new SinkAcc(), cats: new Map(), aiShown: new Array<number>(n).fill(0), aiAccepted: new Array<number>(n).fill(0) };
  for (const agg of aggs) {
    for (const [hs, h] of agg.hours) {
      const day = clock.dayKey(hs);
      if (sel.has(hs, day)) add(c, h, day, sel.bucket(hs, day), Math.max(0, Math.round((hs - clock.startOfDay(day)) / 60_000)), sel.unit === 'hour' ? hs : undefined);
    }
    for (const [day, d] of agg.days) if (sel.hasDay(day)) add(c, d, day, sel.bucket(NaN, day), 0, undefined);
  }
  return c;
}

/** One hour or day bucket into the range's tables; `shift` = its minutes into the day. */
function add(c: Collected, h: Bucket, day: string, b: number, shift: number, hour: number | undefined): void {
  c.types.merge(h.types);
  c.sources.merge(h.sources);
  if (h.first < c.first) c.first = h.first;
  if (h.last > c.last) c.last = h.last;
  if (b >= 0) {
    for (const [type, k] of h.types.m) {
      const cat = type.split('.', 1)[0]!;
      let arr = c.cats.get(cat);
      if (!arr) c.cats.set(cat, (arr = new Array<number>(c.aiShown.length).fill(0)));
      arr[b]! += k;
    }
  }
  const dayJson = ',' + JSON.stringify(day) + ']';
  for (const [k, a] of h.ai) {
    mergeInto(c.groupDays, k.slice(0, -1) + dayJson, a, () => new AiAcc());
    if (b >= 0) {
      c.aiShown[b]! += a.kinds[0]!;
      c.aiAccepted[b]! += a.kinds[1]! + a.kinds[2]!;
    }
  }
  if (h.edit.size) {
    let m = c.edits.get(day);
    if (!m) c.edits.set(day, (m = new Map()));
    for (const [lang, a] of h.edit) {
      let t = m.get(lang);
      if (!t) m.set(lang, (t = new EditAcc()));
      t.merge(a, shift);
      if (hour !== undefined) mergeInto(c.hourMinutes, String(hour), a, () => new EditAcc());
    }
  }
  if (h.sink) c.sink.merge(h.sink);
}

const localOf = (where: string): boolean | null => (where === 'local' ? true : where === 'remote' ? false : null);

function aiTables(groupDays: Map<string, AiAcc>, clock: LocalClock): StatsReport['ai'] {
  if (!groupDays.size) return null;
  const total = new AiAcc();
  const by = { model: new Map<string, AiAcc>(), locality: new Map<string, AiAcc>(), language: new Map<string, AiAcc>(), detection: new Map<string, AiAcc>(), day: new Map<string, AiAcc>() };
  const groups: NonNullable<StatsReport['ai']>['groups'] = [];
  const make = (): AiAcc => new AiAcc();
  for (const [k, a] of groupDays) {
    const [provider, model, where, detection, language, day] = JSON.parse(k) as GroupDims;
    total.merge(a);
    mergeInto(by.model, JSON.stringify([provider, model, where]), a, make);
    mergeInto(by.locality, where, a, make);
    mergeInto(by.language, language, a, make);
    mergeInto(by.detection, detection, a, make);
    mergeInto(by.day, day, a, make);
    groups.push({ provider, model, isLocal: localOf(where), detection, language, day, ...aiFigures(a) });
  }
  // Most used first; equal ones by name, so the order never depends on how the files were read.
  const table = <K>(m: Map<string, AiAcc>, key: (k: string) => K): Array<K & AiFigures> =>
    [...m]
      .map(([k, a]) => ({ k, f: aiFigures(a) }))
      .sort((a, b) => volume(b.f) - volume(a.f) || cmp(a.k, b.k))
      .map(({ k, f }) => ({ ...key(k), ...f }));
  groups.sort((a, b) => cmp(a.day, b.day) || volume(b) - volume(a) || cmp(JSON.stringify([a.provider, a.model, a.isLocal, a.detection, a.language]), JSON.stringify([b.provider, b.model, b.isLocal, b.detection, b.language])));
  return {
    totals: aiFigures(total),
    byModel: table(by.model, (k): AiModelKey => {
      const [provider, model, where] = JSON.parse(k) as [string, string, string];
      return { provider, model, isLocal: localOf(where) };
    }),
    byLocality: table(by.locality, (k) => ({ isLocal: localOf(k) })),
    byLanguage: table(by.language, (language) => ({ language })),
    byDetection: table(by.detection, (detection) => ({ detection })),
    byDay: [...by.day].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, a]) => ({ day, label: clock.dayLabel(day), ...aiFigures(a) })),
    groups,
  };
}

const volume = (f: AiFigures): number => f.shown + f.accepted + f.partiallyAccepted + f.rejected + f.errors;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function editTables(c: Collected, clock: LocalClock, sel: RangeSel): { tables: StatsReport['editor']; series: number[] } {
  const series = new Array<number>(sel.buckets.length).fill(0);
  if (!c.edits.size) return { tables: null, series };
  const total = new EditAcc();
  let totalMinutes = 0;
  const days: Array<[string, EditAcc, number]> = [];
  const langs = new Map<string, { acc: EditAcc; minutes: number }>();
  for (const [day, byLang] of [...c.edits].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const all = new EditAcc();
    for (const [lang, a] of byLang) {
      all.merge(a);
      let r = langs.get(lang);
      if (!r) langs.set(lang, (r = { acc: new EditAcc(), minutes: 0 }));
      r.acc.merge(a);
      r.minutes += a.minutes;
    }
    // Counts add up; a minute active in two languages (or two files) is one minute of the day.
    const minutes = all.minutes;
    total.merge(all);
    totalMinutes += minutes;
    days.push([day, all, minutes]);
    const b = sel.unit === 'day' ? sel.bucket(NaN, day) : -1;
    if (b >= 0) series[b]! += minutes;
  }
  for (const [hs, a] of c.hourMinutes) {
    const b = sel.bucket(Number(hs), clock.dayKey(Number(hs)));
    if (b >= 0) series[b]! += a.minutes;
  }
  return {
    tables: {
      totals: editFigures(total, totalMinutes),
      byDay: days.map(([day, a, minutes]) => ({ day, label: clock.dayLabel(day), ...editFigures(a, minutes) })),
      byLanguage: [...langs].map(([language, r]) => ({ language, ...editFigures(r.acc, r.minutes) })).sort((a, b) => b.activeMinutes - a.activeMinutes || b.bursts - a.bursts || cmp(a.language, b.language)),
    },
    series,
  };
}

function sessions(aggs: FileAgg[], sel: RangeSel): StatsReport['sessions'] {
  const all = new Map<string, SessionAcc>();
  for (const a of aggs) {
    for (const [sid, s] of a.sessions) {
      const t = all.get(sid);
      if (!t) all.set(sid, { ...s });
      else {
        t.events += s.events;
        t.first = Math.min(t.first, s.first);
        t.last = Math.max(t.last, s.last);
      }
    }
  }
  const inRange = [...all].filter(([, s]) => (sel.from === null || s.last >= sel.from) && (sel.to === null || s.first < sel.to));
  inRange.sort((a, b) => b[1].events - a[1].events);
  return { count: inRange.length, top: inRange.slice(0, 20).map(([sid, s]) => ({ sid, events: s.events, source: s.source, first: iso(s.first)!, last: iso(s.last)! })) };
}

function sinkFigures(s: SinkAcc): StatsReport['sink'] {
  const [median, max] = s.p99.quantiles([0.5, 1]);
  return {
    sessionsWithStats: s.sessions,
    lockWaitP99Ms: s.sessions ? { max: round(max!, 3), median: round(median!, 3) } : null,
    lockWaitMaxMs: s.maxMs,
    lockWaitP99Buckets: P99_BUCKETS.map(([bucket], i) => ({ bucket, sessions: s.p99Buckets[i]! })),
    lockTimeouts: s.lockTimeouts,
    dropped: s.dropped,
    tornTailsFenced: s.tornTailsFenced,
    backends: rows(s.backends).map(([backend, sessions]) => ({ backend, sessions })),
  };
}

function rows(c: Counter): Array<[string, number]> {
  return [...c.m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

/** Today's AI totals (local day of `now`), for the status bar. */
export function aiToday(aggs: FileAgg[], clock: LocalClock, now: number): AiFigures | null {
  const today = clock.dayKey(now);
  const total = new AiAcc();
  for (const agg of aggs) {
    for (const [hs, h] of agg.hours) if (h.ai.size && clock.dayKey(hs) === today) for (const a of h.ai.values()) total.merge(a);
    for (const a of agg.days.get(today)?.ai.values() ?? []) total.merge(a);
  }
  return total.kinds.some((k) => k > 0) ? aiFigures(total) : null;
}
