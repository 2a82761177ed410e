/**
 * The Show Statistics page (pure: no vscode). Inline SVG and tables, no script, no remote content;
 * colours come from the theme's CSS variables; the caller supplies the CSP nonce. The range switch,
 * Refresh and Copy / Save as CSV are command links (`command:` URIs the webview allows for these two
 * commands only), so the page needs no script and every control is a focusable link.
 * Every string that can come from the events file goes through `esc`.
 */
import type { SinkStats } from '../sink/appender';
import { RANGE_LABELS, RANGES, type RangeName, type StatsReport } from '../insights/report';
import { barChart, BLUE, COLOR_CSS, esc, GREEN, hbars, PALETTE, PURPLE, RED, YELLOW } from './charts';
import { display, minutes, reportTables, textual, type Table } from './tables';

export const STATS_COMMAND = 'telemetrySink.showStatistics';
export const CSV_COMMAND = 'telemetrySink.statsCsv';

const n = (x: number): string => x.toLocaleString('en-US');
const cmd = (id: string, args: unknown[]): string => `command:${id}?${encodeURIComponent(JSON.stringify(args))}`;
const PAGE_ROWS = 100;

export function renderStatsHtml(s: StatsReport, live: SinkStats | undefined, nonce: string, cspSource: string): string {
  const tables = new Map(reportTables(s).map((t) => [t.id, t]));
  const range = s.range.name;
  const tbl = (id: string, limit = PAGE_ROWS): string => htmlTable(tables.get(id)!, range, limit);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${esc(cspSource)}; style-src 'nonce-${esc(nonce)}';">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Telemetry statistics</title>
<style nonce="${esc(nonce)}">${CSS}</style></head><body>
<header><h1>Telemetry statistics</h1>
<nav aria-label="Range"><ul class="tabs">${RANGES.map((r) => `<li><a href="${cmd(STATS_COMMAND, [r])}"${r === range ? ' aria-current="page" class="current"' : ''}>${RANGE_LABELS[r]}</a></li>`).join('')}<li><a href="${cmd(STATS_COMMAND, [range])}" class="refresh">Refresh</a></li></ul></nav>
<p class="muted">${rangeLine(s)}</p></header>
<main>
${cards(s, live)}
<section aria-labelledby="h-activity"><h2 id="h-activity">Events over time</h2>${activityChart(s)}</section>
${aiSection(s, tbl)}
${editorSection(s, tbl)}
<section aria-labelledby="h-events"><h2 id="h-events">Events</h2>${tbl('events-by-type', 25)}${tbl('events-by-source', 25)}</section>
<section aria-labelledby="h-lock"><h2 id="h-lock">Lock waits</h2>${lockBlock(s)}</section>
<section aria-labelledby="h-live"><h2 id="h-live">This window's sink</h2>${liveBlock(live)}</section>
</main>
<footer class="muted">${footer(s)}</footer>
</body></html>`;
}

function rangeLine(s: StatsReport): string {
  const tz = s.range.timeZone as string | undefined;
  const span = s.timeSpan.first ? `events from ${when(s.timeSpan.first, tz)} to ${when(s.timeSpan.last!, tz)}` : 'no events in this range';
  return `${RANGE_LABELS[s.range.name]} · ${span} · times in ${esc(tz ?? 'local time')}`;
}

/** "Sat, Nov 28, 2026, 22:42" in the report's time zone. */
function when(iso: string, timeZone: string | undefined): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return esc(iso);
  return esc(new Date(t).toLocaleString('en-US', { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
}

function cards(s: StatsReport, live: SinkStats | undefined): string {
  const ai = s.ai?.totals;
  const card = (v: string, label: string): string => `<div class="card"><b>${v}</b>${label}</div>`;
  const list = [
    card(n(s.events), 'events'),
    card(n(s.sessions.count), 'sessions'),
    card(ai ? n(ai.accepted + ai.partiallyAccepted) : '0', 'AI completions accepted'),
    card(display(ai?.acceptanceRate ?? null, 'rate'), 'acceptance rate (reported)'),
    card(ai?.latencyMs ? display(ai.latencyMs.p50, 'ms') : '–', 'median AI latency'),
    card(minutes(s.editor?.totals.activeMinutes ?? 0), 'active editing'),
    card(n(s.unreadableLines), 'unreadable lines (all files)'),
  ];
  if (live) list.push(card(n(live.dropped.total), 'dropped (this window)'));
  return `<section aria-label="Summary" class="cards">${list.join('')}</section>`;
}

function activityChart(s: StatsReport): string {
  const cats = s.series.categories;
  return (
    barChart({
      label: `events per ${s.series.unit} by category`,
      buckets: s.series.buckets,
      series: cats.map((c, k) => ({ name: c.category, values: c.counts, color: k % PALETTE.length })),
      stacked: true,
      unit: ' events',
    }) + (s.series.truncated ? '<p class="muted">The chart shows the last 366 days; the tables cover all of them.</p>' : '')
  );
}

function aiSection(s: StatsReport, tbl: (id: string, limit?: number) => string): string {
  const head = '<section aria-labelledby="h-ai"><h2 id="h-ai">AI completions</h2>';
  if (!s.ai) return `${head}<p class="muted">No AI completion events in this range.</p></section>`;
  const chart = barChart({
    label: `AI completions shown and accepted per ${s.series.unit}`,
    buckets: s.series.buckets,
    series: [
      { name: 'shown', values: s.series.aiShown, color: BLUE },
      { name: 'accepted', values: s.series.aiAccepted, color: GREEN },
    ],
    stacked: false,
    unit: '',
  });
  const groups = s.ai.groups.length;
  return `${head}${chart}
<p class="muted">Counts include every detection; the acceptance rate uses reported events only: (accepted + partially accepted) ÷ shown, or accepted ÷ (accepted + rejected) when a provider reports no shows or more accepts than shows. Latency percentiles are within ±1 % (a log-bucket sketch) over the events that carry <code>latency_ms</code>.</p>
${tbl('ai-by-model')}${tbl('ai-by-locality')}${tbl('ai-by-language')}${tbl('ai-by-detection')}${tbl('ai-by-day')}
<details><summary>Every group (${n(groups)} rows: day × provider × model × where × detection × language)</summary>${tbl('ai-groups', 500)}</details></section>`;
}

function editorSection(s: StatsReport, tbl: (id: string, limit?: number) => string): string {
  const head = '<section aria-labelledby="h-editor"><h2 id="h-editor">Editor activity</h2>';
  if (!s.editor) return `${head}<p class="muted">No edits in this range.</p></section>`;
  const chart = barChart({ label: `active editing minutes per ${s.series.unit}`, buckets: s.series.buckets, series: [{ name: 'active minutes', values: s.series.activeMinutes, color: PURPLE }], stacked: false, unit: ' min' });
  return `${head}${chart}
<p class="muted">Active time counts the local minutes in which an edit burst was in progress (from its first to its last change); reading, scrolling and thinking without typing are not counted.</p>
${tbl('editor-by-day')}${tbl('editor-by-language')}</section>`;
}

function htmlTable(t: Table, range: RangeName, limit: number): string {
  const actions = `<span class="actions"><a href="${cmd(CSV_COMMAND, ['copy', t.id, range])}">Copy as CSV</a> · <a href="${cmd(CSV_COMMAND, ['save', t.id, range])}">Save as CSV</a></span>`;
  const head = `<h3 id="t-${t.id}">${esc(t.title)}</h3>${actions}`;
  if (!t.rows.length) return `${head}<p class="muted">No rows.</p>`;
  const th = t.columns.map((c) => `<th scope="col"${textual(c.kind) ? '' : ' class="num"'}>${esc(c.title)}</th>`).join('');
  const body = t.rows
    .slice(0, limit)
    .map((r) => `<tr>${r.map((v, i) => `<td${textual(t.columns[i]!.kind) ? '' : ' class="num"'}>${esc(display(v, t.columns[i]!.kind))}</td>`).join('')}</tr>`)
    .join('');
  const more = t.rows.length > limit ? `<p class="muted">Showing ${n(limit)} of ${n(t.rows.length)} rows; the CSV has all of them.</p>` : '';
  return `${head}<div class="scroll" role="region" aria-labelledby="t-${t.id}" tabindex="0"><table class="data"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>${more}`;
}

function lockBlock(s: StatsReport): string {
  const k = s.sink;
  if (!k.sessionsWithStats) return '<p class="muted">No finished sessions with sink statistics in this range.</p>';
  const colors = [GREEN, GREEN, YELLOW, RED, RED];
  return `${hbars(k.lockWaitP99Buckets.map((b, i) => [b.bucket, b.sessions, colors[i]!] as [string, number, number]))}
<p class="muted">p99 lock wait per finished session (${n(k.sessionsWithStats)} sessions; median ${k.lockWaitP99Ms!.median} ms); longest single wait ${k.lockWaitMaxMs} ms; lock timeouts ${n(k.lockTimeouts)}; dropped ${n(k.dropped)}; torn tails fenced ${n(k.tornTailsFenced)}; backends ${k.backends.map((b) => `${esc(b.backend)} ×${n(b.sessions)}`).join(', ')}.</p>`;
}

function liveBlock(live: SinkStats | undefined): string {
  if (!live) return '<p class="muted">The sink is not open in this window.</p>';
  return `<ul><li>backend <b>${esc(live.backend)}</b> <span class="muted">(${esc(live.backendReason)})</span></li>
<li>written ${n(live.written)} events in ${n(live.batches)} batches; queued ${n(live.queued.events)}</li>
<li>lock wait p50 ${live.lockWait.p50Ms} ms · p99 ${live.lockWait.p99Ms} ms · max ${live.lockWait.maxMs} ms · contention ${n(live.contention)}</li>
<li>drops <b>${n(live.dropped.total)}</b> · lock timeouts ${n(live.lockTimeouts)} · I/O errors ${n(live.errors.total)} · torn tails fenced ${n(live.tornTailsFenced)} · rotations ${n(live.rotations)}</li></ul>`;
}

function footer(s: StatsReport): string {
  const b = s.build;
  const built = b ? ` Read ${(b.readBytes / 1e6).toFixed(1)} of ${(b.totalBytes / 1e6).toFixed(1)} MB in ${n(b.elapsedMs)} ms (${b.reused + b.extended} of ${b.files.length} files from the cache).${b.cacheWriteError ? ` ${esc(b.cacheWriteError.message)} [${esc(b.cacheWriteError.code)}].` : ''}` : '';
  return `From ${s.files.map(esc).join(', ')}.${built}`;
}

const CSS = `
body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);background:var(--vscode-editor-background);padding:0 20px 30px;max-width:1100px}
h1{font-size:1.4em;font-weight:600} h2{font-size:1.1em;margin-top:30px;border-bottom:1px solid var(--vscode-panel-border);padding-bottom:4px}
h3{font-size:1em;display:inline-block;margin:18px 12px 6px 0}
a{color:var(--vscode-textLink-foreground)} a:hover{color:var(--vscode-textLink-activeForeground)}
a:focus-visible,.scroll:focus-visible,summary:focus-visible{outline:1px solid var(--vscode-focusBorder);outline-offset:2px}
.muted{color:var(--vscode-descriptionForeground)} .actions{font-size:.9em}
ul.tabs{list-style:none;display:flex;gap:6px;padding:0;flex-wrap:wrap}
ul.tabs a{display:inline-block;padding:4px 10px;border:1px solid var(--vscode-button-border, var(--vscode-panel-border));border-radius:3px;text-decoration:none}
ul.tabs a.current{background:var(--vscode-button-background);color:var(--vscode-button-foreground)}
svg.chart{width:100%;height:auto;background:var(--vscode-editorWidget-background);border-radius:4px}
${COLOR_CSS}
text.tick{font-size:10px;fill:var(--vscode-descriptionForeground)} line.baseline{stroke:var(--vscode-panel-border)}
.legend{font-size:.9em;margin-top:4px} .key{margin-right:12px} svg.swatch{width:10px;height:10px;margin-right:4px;vertical-align:baseline}
table.bars{width:100%;border-collapse:collapse} table.bars th{text-align:left;font-weight:normal;width:150px;padding:3px 8px 3px 0}
table.bars td{padding:3px 0} svg.bar{width:100%;height:12px;display:block} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%}
table.data{border-collapse:collapse;font-size:.92em;min-width:50%} table.data th,table.data td{padding:3px 10px 3px 0;white-space:nowrap;border-bottom:1px solid var(--vscode-panel-border)}
table.data th{text-align:left;font-weight:600}
.cards{display:flex;gap:14px;flex-wrap:wrap} .card{background:var(--vscode-editorWidget-background);padding:10px 14px;border-radius:4px;min-width:130px}
.card b{display:block;font-size:1.5em}
`;
