/**
 * The report's tables as one neutral model (pure), drawn by the page, printed by the CLI and
 * exported as CSV — so every output shows the same numbers.
 */
import type { AiFigures, EditFigures, StatsReport } from '../insights/report';

export type Cell = string | number | boolean | null;
export type ColumnKind = 'text' | 'day' | 'int' | 'rate' | 'ms' | 'minutes';

/** Left-aligned, read as words (text from the file, or a day). */
export const textual = (kind: ColumnKind): boolean => kind === 'text' || kind === 'day';

export interface Column {
  /** CSV header and stable name. */
  id: string;
  title: string;
  kind: ColumnKind;
  /** Shown in the CLI's text output (the page and CSV show every column). */
  brief?: boolean;
}

export interface Table {
  id: string;
  title: string;
  columns: Column[];
  rows: Cell[][];
}

const col = (id: string, title: string, kind: ColumnKind, brief = false): Column => ({ id, title, kind, brief });

const AI_COLUMNS: Column[] = [
  col('shown', 'Shown', 'int', true),
  col('accepted', 'Accepted', 'int', true),
  col('partially_accepted', 'Partially', 'int'),
  col('rejected', 'Rejected', 'int'),
  col('errors', 'Errors', 'int'),
  col('acceptance_rate', 'Acceptance', 'rate', true),
  col('chars_accepted', 'Chars accepted', 'int'),
  col('lines_accepted', 'Lines accepted', 'int'),
  col('latency_p50_ms', 'p50', 'ms', true),
  col('latency_p95_ms', 'p95', 'ms', true),
  col('latency_p99_ms', 'p99', 'ms'),
  col('input_tokens', 'Tokens in', 'int'),
  col('output_tokens', 'Tokens out', 'int'),
];

const aiCells = (f: AiFigures): Cell[] => [
  f.shown,
  f.accepted,
  f.partiallyAccepted,
  f.rejected,
  f.errors,
  f.acceptanceRate,
  f.charsAccepted,
  f.linesAccepted,
  f.latencyMs?.p50 ?? null,
  f.latencyMs?.p95 ?? null,
  f.latencyMs?.p99 ?? null,
  f.inputTokens,
  f.outputTokens,
];

const EDIT_COLUMNS: Column[] = [
  col('active_minutes', 'Active time', 'minutes', true),
  col('bursts', 'Edit bursts', 'int', true),
  col('edits', 'Edits', 'int', true),
  col('chars_inserted', 'Chars inserted', 'int', true),
  col('chars_deleted', 'Chars deleted', 'int'),
  col('saves', 'Saves', 'int', true),
];

const editCells = (f: EditFigures): Cell[] => [f.activeMinutes, f.bursts, f.edits, f.charsInserted, f.charsDeleted, f.saves];

export const locality = (isLocal: boolean | null): string => (isLocal === true ? 'local' : isLocal === false ? 'remote' : 'not said');

export const TABLE_IDS = ['ai-by-model', 'ai-by-locality', 'ai-by-language', 'ai-by-detection', 'ai-by-day', 'ai-groups', 'editor-by-day', 'editor-by-language', 'events-by-type', 'events-by-source'] as const;
export type TableId = (typeof TABLE_IDS)[number];

/** Every table of the report, in page order; a table without data has no rows. */
export function reportTables(r: StatsReport): Table[] {
  const ai = r.ai;
  const ed = r.editor;
  const model = [col('provider', 'Provider', 'text', true), col('model', 'Model', 'text', true), col('locality', 'Where', 'text', true)];
  const g = [col('day', 'Day', 'day'), ...model, col('detection', 'Detection', 'text'), col('language', 'Language', 'text')];
  const aiTable = (id: string, title: string, key: Column[], rows: Cell[][] | undefined): Table => ({ id, title, columns: [...key, ...AI_COLUMNS], rows: rows ?? [] });
  const edTable = (id: string, title: string, key: Column, rows: Cell[][] | undefined): Table => ({ id, title, columns: [key, ...EDIT_COLUMNS], rows: rows ?? [] });
  return [
    aiTable('ai-by-model', 'AI completions by model', model, ai?.byModel.map((x) => [x.provider, x.model, locality(x.isLocal), ...aiCells(x)])),
    aiTable('ai-by-locality', 'Local vs remote models', [col('locality', 'Where', 'text', true)], ai?.byLocality.map((x) => [locality(x.isLocal), ...aiCells(x)])),
    aiTable('ai-by-language', 'AI completions by language', [col('language', 'Language', 'text', true)], ai?.byLanguage.map((x) => [x.language, ...aiCells(x)])),
    aiTable('ai-by-detection', 'Reported vs heuristic', [col('detection', 'Detection', 'text', true)], ai?.byDetection.map((x) => [x.detection, ...aiCells(x)])),
    aiTable('ai-by-day', 'AI completions by day', [col('day', 'Day', 'day', true)], ai?.byDay.map((x) => [x.day, ...aiCells(x)])),
    aiTable('ai-groups', 'AI completions by day, model, detection and language', g, ai?.groups.map((x) => [x.day, x.provider, x.model, locality(x.isLocal), x.detection, x.language, ...aiCells(x)])),
    edTable('editor-by-day', 'Editor activity by day', col('day', 'Day', 'day', true), ed?.byDay.map((x) => [x.day, ...editCells(x)])),
    edTable('editor-by-language', 'Editor activity by language', col('language', 'Language', 'text', true), ed?.byLanguage.map((x) => [x.language, ...editCells(x)])),
    { id: 'events-by-type', title: 'Events by type', columns: [col('type', 'Type', 'text', true), col('events', 'Events', 'int', true)], rows: r.byType.map((x) => [x.type, x.events]) },
    { id: 'events-by-source', title: 'Events by source', columns: [col('source', 'Source', 'text', true), col('events', 'Events', 'int', true)], rows: r.bySource.map((x) => [x.source, x.events]) },
  ];
}

/**
 * RFC 4180 CSV with a header row of column ids. Text that a spreadsheet would run as a formula
 * (starting with = + - @, tab or CR) gets a leading apostrophe: values come from the file.
 */
export function toCsv(t: Table): string {
  const cell = (v: Cell, kind: ColumnKind): string => {
    if (v === null) return '';
    let s = String(v);
    if (kind === 'text' && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [t.columns.map((c) => c.id).join(','), ...t.rows.map((r) => r.map((v, i) => cell(v, t.columns[i]!.kind)).join(','))];
  return lines.join('\r\n') + '\r\n';
}

const DAY_LABEL = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });

/** A cell as people read it: 12,345 · 41.7% · 182 ms · 2 h 05 min · Sat, Nov 28, 2026. */
export function display(v: Cell, kind: ColumnKind): string {
  if (v === null) return textual(kind) ? '' : '–';
  if (kind === 'day' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return DAY_LABEL.format(Date.parse(v + 'T00:00:00Z'));
  if (typeof v !== 'number') return String(v);
  if (kind === 'rate') return (v * 100).toFixed(1) + '%';
  if (kind === 'ms') return (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)) + ' ms';
  if (kind === 'minutes') return minutes(v);
  return v.toLocaleString('en-US');
}

export function minutes(m: number): string {
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
