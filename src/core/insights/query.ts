/**
 * Turns per-file, per-hour aggregates into the report for one range (pure).
 * AI groups are first merged per day (one merge per group-hour), and every AI table is derived from
 * those group-days; active minutes are OR-ed per hour across files and languages before counting.
 */
import { AiAcc, Counter, EditAcc, P99_BUCKETS, SinkAcc } from './accumulators';
import { mergeInto, type AiDims, type FileAgg, type SessionAcc } from './fileAgg';
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
  /** hour → language → activity, merged across files. */
  edits: Map<number, Map<string, EditAcc>>;
  sink: SinkAcc;
  cats: Map<string, number[]>;
  aiShown: number[];
  aiAccepted: number[];
}

export function buildReport(aggs: FileAgg[], files: string[], clock: LocalClock, rangeName: RangeName, now: number): StatsReport {
  const sel = selectRange(clock, rangeName, now, (function* () {
    for (const a of aggs) yield* a.hours.keys();
  })());
  const c = collect(aggs, clock, sel);
  const ai = aiTables(c.groupDays, clock);
  const editor = editTables(c.edits, clock, sel);
  return {
    version: 2,
    range: { name: rangeName, from: iso(sel.from), to: iso(sel.to), timeZone: clock.timeZone, unit: sel.unit },
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
  const c: Collected = { types: new Counter(), sources: new Counter(), first: Infinity, last: -Infinity, groupDays: new Map(), edits: new Map(), sink: new SinkAcc(), cats: new Map(), aiShown: new Array<number>(n).fill(0), aiAccepted: new Array<number>(n).fill(0) };
  for (const agg of aggs) {
    for (const [hs, h] of agg.hours) {
      const day = clock.dayKey(hs);
      if (!sel.has(hs, day)) continue;
      const b = sel.bucket(hs, day);
      c.types.merge(h.types);
      c.sources.merge(h.sources);
      if (h.first < c.first) c.first = h.first;
      if (h.last > c.last) c.last = h.last;
      if (b >= 0) {
        for (const [type, k] of h.types.m) {
          const cat = type.split('.', 1)[0]!;
          let arr = c.cats.get(cat);
          if (!arr) c.cats.set(cat, (arr = new Array<number>(n).fill(0)));
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
        let m = c.edits.get(hs);
        if (!m) c.edits.set(hs, (m = new Map()));
        for (const [lang, a] of h.edit) mergeInto(m, lang, a, () => new EditAcc());
      }
      if (h.sink) c.sink.merge(h.sink);
    }
  }
  return c;
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
  const table = <K>(m: Map<string, AiAcc>, key: (k: string) => K): Array<K & AiFigures> => sortByVolume([...m].map(([k, a]) => ({ ...key(k), ...aiFigures(a) })));
  groups.sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : volume(b) - volume(a)));
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

function sortByVolume<T extends AiFigures>(rows: T[]): T[] {
  return rows.sort((a, b) => volume(b) - volume(a));
}

function editTables(edits: Map<number, Map<string, EditAcc>>, clock: LocalClock, sel: RangeSel): { tables: StatsReport['editor']; series: number[] } {
  const series = new Array<number>(sel.buckets.length).fill(0);
  if (!edits.size) return { tables: null, series };
  const total = new EditAcc();
  let totalMinutes = 0;
  const days = new Map<string, { acc: EditAcc; minutes: number }>();
  const langs = new Map<string, { acc: EditAcc; minutes: number }>();
  const add = (m: Map<string, { acc: EditAcc; minutes: number }>, k: string, a: EditAcc, minutes: number): void => {
    let r = m.get(k);
    if (!r) m.set(k, (r = { acc: new EditAcc(), minutes: 0 }));
    r.acc.merge(a);
    r.minutes += minutes;
  };
  for (const [hs, byLang] of [...edits].sort((a, b) => a[0] - b[0])) {
    const day = clock.dayKey(hs);
    const hour = new EditAcc();
    for (const [lang, a] of byLang) {
      hour.merge(a);
      add(langs, lang, a, a.minutes);
    }
    // Counts add up; a minute active in two languages is one minute of the hour.
    const minutes = hour.minutes;
    total.merge(hour);
    totalMinutes += minutes;
    add(days, day, hour, minutes);
    const b = sel.bucket(hs, day);
    if (b >= 0) series[b]! += minutes;
  }
  return {
    tables: {
      totals: editFigures(total, totalMinutes),
      byDay: [...days].map(([day, r]) => ({ day, label: clock.dayLabel(day), ...editFigures(r.acc, r.minutes) })),
      byLanguage: [...langs].map(([language, r]) => ({ language, ...editFigures(r.acc, r.minutes) })).sort((a, b) => b.activeMinutes - a.activeMinutes || b.bursts - a.bursts),
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
  for (const agg of aggs) for (const [hs, h] of agg.hours) if (h.ai.size && clock.dayKey(hs) === today) for (const a of h.ai.values()) total.merge(a);
  return total.kinds.some((k) => k > 0) ? aiFigures(total) : null;
}
