/**
 * `telemetry-sink stats` as text (pure). Every string from the file passes through `safe`, so
 * control characters (C0, C1, DEL) and bidi overrides cannot move the cursor, recolour the terminal
 * or write the clipboard (OSC 52); `--json` stays exact.
 */
import type { StatsReport } from '../insights/report';
import { RANGE_LABELS } from '../insights/report';
import { display, minutes, reportTables, textual, type Table } from './tables';

const n = (x: number): string => x.toLocaleString('en-US');
const MAX_ROWS = 25;

/** Control and bidi-override characters shown as \xHH / \uHHHH instead of acting on the terminal. */
export function safe(s: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** CSV for a terminal: each record's text through `safe`; the CR LF between records stays. */
export function terminalCsv(csv: string): string {
  return csv.split('\r\n').map(safe).join('\r\n');
}

export function formatStats(s: StatsReport): string {
  const out: string[] = [];
  const span = s.range.from ? ` from ${s.range.from.slice(0, 16).replace('T', ' ')} UTC` : '';
  out.push(`${RANGE_LABELS[s.range.name]} (${safe(s.range.timeZone ?? 'local time')})${span}: ${n(s.events)} events in ${s.files.length} file(s)`);
  if (s.unreadableLines) out.push(`  ${n(s.unreadableLines)} unreadable line(s) in the files skipped (run verify for details)`);
  const facts = [`sessions ${n(s.sessions.count)}`];
  if (s.editor) facts.push(`editor active ${minutes(s.editor.totals.activeMinutes)}`);
  if (s.ai) {
    const t = s.ai.totals;
    facts.push(`AI accepted ${n(t.accepted + t.partiallyAccepted)} · shown ${n(t.shown)} · acceptance ${display(t.acceptanceRate, 'rate')}`);
  }
  out.push('  ' + facts.join(' · '));
  for (const t of reportTables(s)) if (t.id !== 'ai-groups' && t.rows.length) out.push('', ...textTable(t));
  if (s.sink.sessionsWithStats) {
    const k = s.sink;
    out.push('', `Sink (from ${n(k.sessionsWithStats)} session.end records):`);
    out.push(`  lock wait p99 median ${k.lockWaitP99Ms!.median} ms, worst ${k.lockWaitP99Ms!.max} ms; longest single wait ${k.lockWaitMaxMs} ms`);
    out.push(`  lock timeouts ${n(k.lockTimeouts)} · dropped ${n(k.dropped)} · torn tails fenced ${n(k.tornTailsFenced)} · backends ${k.backends.map((b) => `${safe(b.backend)} ×${b.sessions}`).join(', ')}`);
  }
  if (s.build) {
    const b = s.build;
    out.push('', `Read ${(b.readBytes / 1e6).toFixed(1)} of ${(b.totalBytes / 1e6).toFixed(1)} MB in ${b.elapsedMs} ms (${b.reused + b.extended} of ${b.files.length} file(s) from the cache, ${b.rebuilt} read in full; cache ${safe(b.cache)})`);
    if (b.cacheWriteError) out.push(`  note: ${safe(b.cacheWriteError.message)} [${b.cacheWriteError.code}]`);
  }
  return out.join('\n') + '\n';
}

/** The table's brief columns, padded; numbers right-aligned. */
function textTable(t: Table): string[] {
  const cols = t.columns.map((c, i) => ({ c, i })).filter((x) => x.c.brief);
  const cells = t.rows.slice(0, MAX_ROWS).map((r) => cols.map(({ c, i }) => safe(display(r[i]!, c.kind))));
  const head = cols.map(({ c }) => c.title);
  const width = head.map((h, k) => Math.min(40, Math.max(h.length, ...cells.map((r) => r[k]!.length))));
  const line = (r: string[]): string =>
    '  ' +
    r
      .map((v, k) => {
        const w = width[k]!;
        const cut = v.length > w ? v.slice(0, w - 1) + '…' : v;
        return textual(cols[k]!.c.kind) ? cut.padEnd(w) : cut.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const out = [`${t.title}:`, line(head), ...cells.map(line)];
  if (t.rows.length > MAX_ROWS) out.push(`  … and ${n(t.rows.length - MAX_ROWS)} more (--json or --csv --table ${t.id} for all)`);
  return out;
}
