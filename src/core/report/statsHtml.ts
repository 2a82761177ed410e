/**
 * The Show Statistics page (pure: no vscode). Inline SVG drawn here, no script, no remote content;
 * colours come from the theme's CSS variables. The caller supplies the CSP nonce.
 */
import type { StatsReport } from '../integrity/stats';
import type { SinkStats } from '../sink/appender';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (x: number): string => x.toLocaleString('en-US');
// The CSP allows only the nonce'd <style> block (no style="" attributes), so colours are classes
// and sizes are SVG attributes.
const PALETTE = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-orange', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow', '--vscode-charts-foreground'];
const COLOR_CSS = PALETTE.map((v, i) => `.c${i}{fill:var(${v})}`).join('');
type Color = number;
const BLUE = 0;
const GREEN = 1;
const ORANGE = 2;
const RED = 4;
const YELLOW = 5;

function perMinuteChart(s: StatsReport): string {
  const cats = s.perMinute.categories;
  if (!cats.length) return '<p class="muted">No events yet.</p>';
  const len = s.perMinute.counts[cats[0]!]!.length;
  const totals = Array.from({ length: len }, (_, i) => cats.reduce((a, c) => a + s.perMinute.counts[c]![i]!, 0));
  const max = Math.max(1, ...totals);
  const W = 720;
  const H = 160;
  const bw = W / len;
  const bars: string[] = [];
  for (let i = 0; i < len; i++) {
    let y = H;
    cats.forEach((c, k) => {
      const v = s.perMinute.counts[c]![i]!;
      if (!v) return;
      const h = (v / max) * (H - 10);
      y -= h;
      bars.push(`<rect x="${(i * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" class="c${k % PALETTE.length}"><title>${esc(c)}: ${v}</title></rect>`);
    });
  }
  const legend = cats.map((c, k) => `<span class="key"><svg class="swatch" viewBox="0 0 10 10"><rect width="10" height="10" rx="2" class="c${k % PALETTE.length}"/></svg>${esc(c)}</span>`).join(' ');
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="events per minute by category">${bars.join('')}</svg>
<div class="axis"><span>${esc(s.perMinute.start ?? '')}</span><span>peak ${n(max)}/min</span><span>now</span></div><div>${legend}</div>`;
}

function hbars(rows: Array<[string, number, Color]>): string {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return `<table class="bars">${rows
    .map(
      ([label, v, color]) =>
        `<tr><th>${esc(label)}</th><td><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none"><rect height="10" width="${v ? Math.max(0.5, (v / max) * 100).toFixed(1) : 0}" class="c${color}"/></svg></td><td class="num">${n(v)}</td></tr>`,
    )
    .join('')}</table>`;
}

export function renderStatsHtml(s: StatsReport, live: SinkStats | undefined, nonce: string, cspSource: string): string {
  const ai = s.ai;
  const aiBlock = ai
    ? `${hbars([
        ['shown', ai.shown, BLUE],
        ['accepted', ai.accepted, GREEN],
        ['partially accepted', ai.partially_accepted, YELLOW],
        ['rejected', ai.rejected, ORANGE],
        ['error', ai.error, RED],
      ])}<p class="big">${ai.acceptanceRate === null ? 'n/a' : (ai.acceptanceRate * 100).toFixed(1) + '%'} <span class="muted">acceptance rate</span></p>
      <p class="muted">Counts include every detection (${Object.entries(ai.byDetection).map(([k, v]) => `${esc(k)} ${n(v)}`).join(', ')}); the rate uses reported events only: accepted ÷ shown, or accepted ÷ (accepted + rejected) when a provider reports more accepts than shows.</p>`
    : '<p class="muted">No AI completion events recorded yet.</p>';
  const buckets = ['<0.1 ms', '0.1–1 ms', '1–10 ms', '10–100 ms', '≥100 ms'];
  const lock = s.sink.sessionsWithStats
    ? `${hbars(buckets.map((b, i) => [b, s.sink.lockWaitP99Buckets[b] ?? 0, i < 2 ? GREEN : i < 3 ? YELLOW : RED] as [string, number, Color]))}
      <p class="muted">p99 lock wait per finished session (${n(s.sink.sessionsWithStats)} sessions); longest single wait ${s.sink.lockWaitMaxMs} ms</p>`
    : '<p class="muted">No finished sessions with sink statistics yet.</p>';
  const liveBlock = live
    ? `<ul><li>backend <b>${esc(live.backend)}</b> <span class="muted">(${esc(live.backendReason)})</span></li>
      <li>written ${n(live.written)} events in ${n(live.batches)} batches; queued ${n(live.queued.events)}</li>
      <li>lock wait p50 ${live.lockWait.p50Ms} ms · p99 ${live.lockWait.p99Ms} ms · max ${live.lockWait.maxMs} ms · contention ${n(live.contention)}</li>
      <li>drops <b>${n(live.dropped.total)}</b> · lock timeouts ${n(live.lockTimeouts)} · I/O errors ${n(live.errors.total)} · torn tails fenced ${n(live.tornTailsFenced)} · rotations ${n(live.rotations)}</li></ul>`
    : '<p class="muted">The sink is not open in this window.</p>';
  const types = Object.entries(s.byType).sort((a, b) => b[1] - a[1]).slice(0, 12);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource}; style-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Telemetry statistics</title>
<style nonce="${nonce}">
body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);background:var(--vscode-editor-background);padding:0 20px 30px;max-width:900px}
h1{font-size:1.4em;font-weight:600} h2{font-size:1.05em;margin-top:28px;border-bottom:1px solid var(--vscode-panel-border);padding-bottom:4px}
.muted{color:var(--vscode-descriptionForeground)} .big{font-size:1.8em;margin:6px 0}
svg.chart{width:100%;height:170px;background:var(--vscode-editorWidget-background);border-radius:4px}
${COLOR_CSS}
.axis{display:flex;justify-content:space-between;font-size:.85em;color:var(--vscode-descriptionForeground)}
.key{margin-right:12px;font-size:.9em} svg.swatch{width:10px;height:10px;margin-right:4px;background:none;vertical-align:baseline}
table.bars{width:100%;border-collapse:collapse} table.bars th{text-align:left;font-weight:normal;width:150px;padding:3px 8px 3px 0}
table.bars td{padding:3px 0} svg.bar{width:100%;height:12px;background:none;display:block} td.num{width:90px;text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:14px;flex-wrap:wrap} .card{background:var(--vscode-editorWidget-background);padding:10px 14px;border-radius:4px;min-width:130px}
.card b{display:block;font-size:1.5em}
</style></head><body>
<h1>Local Telemetry Sink</h1>
<div class="cards"><div class="card"><b>${n(s.events)}</b>events in file</div><div class="card"><b>${n(s.sessions.count)}</b>sessions</div>
<div class="card"><b>${n(live?.dropped.total ?? 0)}</b>dropped (this window)</div><div class="card"><b>${n(s.unreadableLines)}</b>unreadable lines</div></div>
<h2>Events per minute by category</h2>${perMinuteChart(s)}
<h2>AI completions</h2>${aiBlock}
<h2>Lock waits</h2>${lock}
<h2>This window's sink</h2>${liveBlock}
<h2>Top event types</h2>${hbars(types.map(([t, v]) => [t, v, BLUE] as [string, number, Color]))}
<p class="muted">From ${esc(s.files.join(', '))}${s.timeSpan.first ? `, ${esc(s.timeSpan.first)} → ${esc(s.timeSpan.last ?? '')}` : ''}.</p>
</body></html>`;
}
