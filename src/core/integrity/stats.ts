import type { EnvelopeV1 } from '../sink/envelope';
import { scanLines } from './reader';
import { openSet } from './fileset';
import { MAX_LINE_BYTES } from '../sink/envelope';

export interface StatsOptions {
  file: string;
  all?: boolean;
  signal?: AbortSignal;
  /** Minutes of per-minute history to keep, counted back from the newest event (default 120). */
  minutes?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AiStats {
  /** Counts over every detection (reported and heuristic). */
  shown: number;
  accepted: number;
  partially_accepted: number;
  rejected: number;
  error: number;
  /**
   * Over reported events only (the heuristic sees accepts, never shows): (accepted + partially
   * accepted) / shown, or accepted / (accepted + rejected) when shown is missing or smaller.
   */
  acceptanceRate: number | null;
  reported: { shown: number; accepted: number; rejected: number };
  byDetection: Record<string, number>;
  byModel: Record<string, { shown: number; accepted: number; rejected: number }>;
}

export interface StatsReport {
  version: 1;
  files: string[];
  events: number;
  unreadableLines: number;
  timeSpan: { first?: string; last?: string };
  byType: Record<string, number>;
  bySource: Record<string, number>;
  byDay: Record<string, number>;
  sessions: { count: number; top: Array<{ sid: string; events: number; source: string; first: string; last: string }> };
  ai: AiStats | null;
  /** From the sinks' own session.end stats. */
  sink: {
    sessionsWithStats: number;
    lockWaitP99Ms: { max: number; median: number } | null;
    lockWaitMaxMs: number;
    lockWaitP99Buckets: Record<string, number>;
    lockTimeouts: number;
    dropped: number;
    tornTailsFenced: number;
    backends: Record<string, number>;
  };
  perMinute: { start?: string; categories: string[]; counts: Record<string, number[]> };
  /** How files were read when not plainly (without the lock file, removed before read, …). */
  notes?: string[];
}

const AI_KINDS = ['shown', 'accepted', 'partially_accepted', 'rejected', 'error'] as const;
type AiKind = (typeof AI_KINDS)[number];
const P99_BUCKETS: Array<[string, number]> = [
  ['<0.1 ms', 0.1],
  ['0.1–1 ms', 1],
  ['1–10 ms', 10],
  ['10–100 ms', 100],
  ['≥100 ms', Infinity],
];

export async function stats(opts: StatsOptions): Promise<StatsReport> {
  const r: StatsReport = {
    version: 1,
    files: [],
    events: 0,
    unreadableLines: 0,
    timeSpan: {},
    byType: {},
    bySource: {},
    byDay: {},
    sessions: { count: 0, top: [] },
    ai: null,
    sink: { sessionsWithStats: 0, lockWaitP99Ms: null, lockWaitMaxMs: 0, lockWaitP99Buckets: {}, lockTimeouts: 0, dropped: 0, tornTailsFenced: 0, backends: {} },
    perMinute: { categories: [], counts: {} },
  };
  const sess = new Map<string, { events: number; source: string; first: string; last: string }>();
  const p99s: number[] = [];
  // Per-minute counts by category over a sliding window of the newest `minutes` minutes.
  const minutes = opts.minutes ?? 120;
  const perMinute = new Map<number, Map<string, number>>();
  let newestMinute = -Infinity;
  const ai: AiStats = { shown: 0, accepted: 0, partially_accepted: 0, rejected: 0, error: 0, acceptanceRate: null, reported: { shown: 0, accepted: 0, rejected: 0 }, byDetection: {}, byModel: {} };
  let sawAi = false;

  const set = await openSet(opts.file, !!opts.all);
  try {
    r.files = set.files.map((x) => x.path);
    const total = set.files.reduce((a, x) => a + x.size, 0);
    let before = 0;
    for (let fi = 0; fi < set.files.length; fi++) {
      // Rotated files are opened one at a time (bounded fds however many there are).
      await set.withFile(fi, (fd, snap) => scanLines(snap.path, snap.size, (l) => {
        if (!l.terminated || l.truncated) {
          r.unreadableLines++;
          return;
        }
        let e: EnvelopeV1;
        try {
          e = JSON.parse(l.bytes.toString('utf8')) as EnvelopeV1;
        } catch {
          r.unreadableLines++;
          return;
        }
        if (!e || typeof e !== 'object' || typeof e.type !== 'string' || typeof e.ts !== 'string' || typeof e.sid !== 'string') {
          r.unreadableLines++;
          return;
        }
        r.events++;
        inc(r.byType, e.type);
        inc(r.bySource, String(e.source));
        inc(r.byDay, e.ts.slice(0, 10));
        if (!r.timeSpan.first || e.ts < r.timeSpan.first) r.timeSpan.first = e.ts;
        if (!r.timeSpan.last || e.ts > r.timeSpan.last) r.timeSpan.last = e.ts;
        const s = sess.get(e.sid);
        if (s) {
          s.events++;
          if (e.ts > s.last) s.last = e.ts;
        } else sess.set(e.sid, { events: 1, source: String(e.source), first: e.ts, last: e.ts });

        const t = Date.parse(e.ts);
        if (Number.isFinite(t)) {
          const m = Math.floor(t / 60_000);
          if (m > newestMinute) {
            newestMinute = m;
            for (const k of perMinute.keys()) if (k <= m - minutes) perMinute.delete(k);
          }
          if (m > newestMinute - minutes) {
            let row = perMinute.get(m);
            if (!row) perMinute.set(m, (row = new Map()));
            const cat = e.type.split('.')[0]!;
            row.set(cat, (row.get(cat) ?? 0) + 1);
          }
        }

        const data = (e.data ?? {}) as Record<string, unknown>;
        if (e.type.startsWith('ai.completion.')) {
          const kind = (AI_KINDS as readonly string[]).includes(e.type.slice(14)) ? (e.type.slice(14) as AiKind) : undefined;
          if (kind) {
            sawAi = true;
            ai[kind]++;
            const detection = typeof data.detection === 'string' ? data.detection : 'reported';
            inc(ai.byDetection, detection);
            if (detection === 'reported') {
              if (kind === 'shown') ai.reported.shown++;
              else if (kind === 'accepted' || kind === 'partially_accepted') ai.reported.accepted++;
              else if (kind === 'rejected') ai.reported.rejected++;
            }
            const model = typeof data['gen_ai.request.model'] === 'string' ? (data['gen_ai.request.model'] as string) : 'unknown';
            const bm = (ai.byModel[model] ??= { shown: 0, accepted: 0, rejected: 0 });
            if (kind === 'shown') bm.shown++;
            else if (kind === 'accepted' || kind === 'partially_accepted') bm.accepted++;
            else if (kind === 'rejected') bm.rejected++;
          }
        } else if (e.type === 'session.end') {
          const st = data.stats as Record<string, unknown> | undefined;
          const lw = st?.lockWait as Record<string, unknown> | undefined;
          if (st && lw && typeof lw.p99Ms === 'number') {
            r.sink.sessionsWithStats++;
            p99s.push(lw.p99Ms);
            if (typeof lw.maxMs === 'number' && lw.maxMs > r.sink.lockWaitMaxMs) r.sink.lockWaitMaxMs = lw.maxMs;
            const bucket = P99_BUCKETS.find(([, hi]) => (lw.p99Ms as number) < hi)![0];
            inc(r.sink.lockWaitP99Buckets, bucket);
            if (typeof st.lockTimeouts === 'number') r.sink.lockTimeouts += st.lockTimeouts;
            const dr = st.dropped as { total?: unknown } | undefined;
            if (typeof dr?.total === 'number') r.sink.dropped += dr.total;
            if (typeof st.tornTailsFenced === 'number') r.sink.tornTailsFenced += st.tornTailsFenced;
            if (typeof st.backend === 'string') inc(r.sink.backends, st.backend);
          }
        }
      }, { fd, bufferCap: MAX_LINE_BYTES, signal: opts.signal, onProgress: opts.onProgress ? (d) => opts.onProgress!(before + d, total) : undefined }).then(() => undefined));
      before += set.files[fi]!.size;
    }
  } finally {
    set.close();
  }
  const notes = set.files.filter((f) => f.note).map((f) => `${f.path} ${f.note}`);
  if (notes.length) r.notes = notes;

  r.sessions.count = sess.size;
  r.sessions.top = [...sess.entries()].sort((a, b) => b[1].events - a[1].events).slice(0, 20).map(([sid, v]) => ({ sid, ...v }));
  if (p99s.length) {
    p99s.sort((a, b) => a - b);
    r.sink.lockWaitP99Ms = { max: p99s[p99s.length - 1]!, median: p99s[Math.floor((p99s.length - 1) / 2)]! };
  }
  if (sawAi) {
    const { shown, accepted: acc, rejected } = ai.reported;
    ai.acceptanceRate = shown > 0 && acc <= shown ? round(acc / shown) : acc + rejected > 0 ? round(acc / (acc + rejected)) : null;
    r.ai = ai;
  }
  if (perMinute.size) {
    const start = newestMinute - minutes + 1;
    const cats = new Set<string>();
    for (const row of perMinute.values()) for (const c of row.keys()) cats.add(c);
    r.perMinute.start = new Date(start * 60_000).toISOString();
    r.perMinute.categories = [...cats].sort();
    for (const c of r.perMinute.categories) r.perMinute.counts[c] = new Array<number>(minutes).fill(0);
    for (const [m, row] of perMinute) for (const [c, n] of row) r.perMinute.counts[c]![m - start] = n;
  }
  return r;
}

function inc(o: Record<string, number>, k: string): void {
  o[k] = (o[k] ?? 0) + 1;
}
function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
