/**
 * What `stats` reports for one range (the shape of `telemetry-sink stats --json`, version 2), and
 * the figures computed from accumulators. Tables are arrays of rows: keys from the file are values.
 */
import type { AiAcc, EditAcc } from './accumulators';
import type { BuildInfo } from './store';

export type RangeName = '24h' | '7d' | '30d' | 'all';
export const RANGES: readonly RangeName[] = ['24h', '7d', '30d', 'all'];
export const RANGE_LABELS: Record<RangeName, string> = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', all: 'All time' };

export interface AiFigures {
  shown: number;
  accepted: number;
  partiallyAccepted: number;
  rejected: number;
  errors: number;
  /** Reported events only; see aiFigures. null when nothing reported decides it. */
  acceptanceRate: number | null;
  charsAccepted: number;
  linesAccepted: number;
  /** Over every AI event that carries `latency_ms`; quantiles within ±1 %. */
  latencyMs: { count: number; p50: number; p95: number; p99: number } | null;
  inputTokens: number;
  outputTokens: number;
}

export interface EditFigures {
  /** Edit bursts (editor.document.change events). */
  bursts: number;
  /** Content changes inside them. */
  edits: number;
  charsInserted: number;
  charsDeleted: number;
  saves: number;
  /** Distinct local minutes with an edit burst in progress. */
  activeMinutes: number;
}

export interface Day {
  day: string;
  label: string;
}

export interface AiModelKey {
  provider: string;
  model: string;
  /** is_local as reported: true, false, or null when not said. */
  isLocal: boolean | null;
}

export interface StatsReport {
  version: 2;
  range: { name: RangeName; from: string | null; to: string | null; timeZone: string; unit: 'hour' | 'day' };
  generatedAt: string;
  files: string[];
  /** Events in the range. */
  events: number;
  /** Lines of the whole set that are not usable events (run verify for details). */
  unreadableLines: number;
  timeSpan: { first?: string; last?: string };
  byType: Array<{ type: string; events: number }>;
  bySource: Array<{ source: string; events: number }>;
  sessions: { count: number; top: Array<{ sid: string; events: number; source: string; first: string; last: string }> };
  series: {
    unit: 'hour' | 'day';
    buckets: Array<{ key: string; label: string }>;
    categories: Array<{ category: string; counts: number[] }>;
    aiShown: number[];
    aiAccepted: number[];
    activeMinutes: number[];
    /** 'all' draws at most the last 366 days. */
    truncated: boolean;
  };
  ai: {
    totals: AiFigures;
    byModel: Array<AiModelKey & AiFigures>;
    byLocality: Array<{ isLocal: boolean | null } & AiFigures>;
    byLanguage: Array<{ language: string } & AiFigures>;
    byDetection: Array<{ detection: string } & AiFigures>;
    byDay: Array<Day & AiFigures>;
    /** Provider × model × is_local × detection × language × day. */
    groups: Array<AiModelKey & { detection: string; language: string; day: string } & AiFigures>;
  } | null;
  editor: { totals: EditFigures; byDay: Array<Day & EditFigures>; byLanguage: Array<{ language: string } & EditFigures> } | null;
  /** From the sinks' own session.end records in the range. */
  sink: {
    sessionsWithStats: number;
    lockWaitP99Ms: { max: number; median: number } | null;
    lockWaitMaxMs: number;
    lockWaitP99Buckets: Array<{ bucket: string; sessions: number }>;
    lockTimeouts: number;
    dropped: number;
    tornTailsFenced: number;
    backends: Array<{ backend: string; sessions: number }>;
  };
  build?: BuildInfo;
}

/**
 * The acceptance rate counts reported events only (the heuristic sees accepts, never shows):
 * (accepted + partially accepted) / shown, or accepted / (accepted + rejected) when the provider
 * reports no shows or more accepts than shows.
 */
export function acceptanceRate(shown: number, accepted: number, rejected: number): number | null {
  if (shown > 0 && accepted <= shown) return round(accepted / shown, 3);
  return accepted + rejected > 0 ? round(accepted / (accepted + rejected), 3) : null;
}

export function aiFigures(a: AiAcc): AiFigures {
  const [p50, p95, p99] = a.latency.quantiles([0.5, 0.95, 0.99]);
  return {
    shown: a.kinds[0]!,
    accepted: a.kinds[1]!,
    partiallyAccepted: a.kinds[2]!,
    rejected: a.kinds[3]!,
    errors: a.kinds[4]!,
    acceptanceRate: acceptanceRate(a.reported[0]!, a.reported[1]!, a.reported[2]!),
    charsAccepted: a.chars,
    linesAccepted: a.lines,
    latencyMs: a.latency.count ? { count: a.latency.count, p50: round(p50!, 2), p95: round(p95!, 2), p99: round(p99!, 2) } : null,
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
  };
}

export function editFigures(a: EditAcc, activeMinutes: number): EditFigures {
  return { bursts: a.bursts, edits: a.changes, charsInserted: a.charsInserted, charsDeleted: a.charsDeleted, saves: a.saves, activeMinutes };
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
