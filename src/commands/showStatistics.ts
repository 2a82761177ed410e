import * as vscode from 'vscode';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CommandDeps } from './deps';
import { RANGES, type RangeName, type StatsReport } from '../core/insights/report';
import { CSV_COMMAND, renderStatsHtml, STATS_COMMAND } from '../core/report/statsHtml';
import { reportTables, TABLE_IDS, toCsv } from '../core/report/tables';

let panel: vscode.WebviewPanel | undefined;
let lastRange: RangeName = '7d';
/** A read that takes longer than this shows a cancellable notification with its progress. */
const QUIET_MS = 400;

/**
 * Telemetry Sink: Show Statistics [range] — a webview drawn from the file (strict CSP, no script).
 * The range links and CSV actions on the page are command links back to this command and statsCsv.
 */
export async function showStatistics(d: CommandDeps, rangeArg?: unknown): Promise<string | undefined> {
  const range: RangeName = (RANGES as readonly unknown[]).includes(rangeArg) ? (rangeArg as RangeName) : lastRange;
  d.flushCollectors();
  await d.rt.sink?.flush();
  let report: StatsReport;
  try {
    const { store, info } = await withQuietProgress((signal, onProgress) => d.insights.refresh({ signal, onProgress }));
    report = { ...store.report(range), build: info };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_CANCELLED') return undefined;
    d.rt.log.error(`statistics: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(`Telemetry Sink: cannot read statistics: ${(err as Error).message}`);
    return undefined;
  }
  lastRange = range;
  d.insights.shown.set(range, report);
  if (!panel) {
    panel = vscode.window.createWebviewPanel('telemetrySink.stats', 'Telemetry Statistics', vscode.ViewColumn.Active, { enableScripts: false, enableCommandUris: [STATS_COMMAND, CSV_COMMAND], localResourceRoots: [] });
    panel.onDidDispose(() => (panel = undefined));
  } else panel.reveal();
  const html = withShipLine(d.shipLine(), renderStatsHtml(report, d.rt.stats(), randomBytes(16).toString('base64'), panel.webview.cspSource));
  panel.webview.html = html;
  d.insights.persist();
  return html;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Adds the shipping line to the statistics page's HTML (just before </body>). */
function withShipLine(line: string | undefined, html: string): string {
  return line ? html.replace(/<\/body>/, `<p class="muted">${esc(line)}</p></body>`) : html;
}

/** Runs `work`; if it is still running after QUIET_MS, shows a cancellable progress notification. */
async function withQuietProgress<T>(work: (signal: AbortSignal, onProgress: (done: number, total: number) => void) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let latest = { done: 0, total: 0 };
  let notify: ((done: number, total: number) => void) | undefined;
  const p = work(ac.signal, (done, total) => {
    latest = { done, total };
    notify?.(done, total);
  });
  const timer = setTimeout(() => {
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Telemetry Sink: reading statistics (once; later opens use the cache)', cancellable: true }, (progress, token) => {
      token.onCancellationRequested(() => ac.abort());
      let shown = 0;
      notify = (done, total): void => {
        const pct = total ? (done / total) * 100 : 0;
        if (pct - shown < 1) return;
        progress.report({ increment: pct - shown, message: `${(done / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB` });
        shown = pct;
      };
      notify(latest.done, latest.total);
      return p.catch(() => undefined);
    });
  }, QUIET_MS);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * telemetrySink.statsCsv(action, table, range): Copy as CSV / Save as CSV for one table of the page,
 * exactly as last drawn for that range. Returns the CSV (for tests), undefined when nothing was done.
 */
export async function statsCsv(d: CommandDeps, action: unknown, table: unknown, range: unknown): Promise<string | undefined> {
  if ((action !== 'copy' && action !== 'save') || !(TABLE_IDS as readonly unknown[]).includes(table) || !(RANGES as readonly unknown[]).includes(range)) {
    void vscode.window.showErrorMessage('Telemetry Sink: Copy / Save as CSV needs an action (copy or save), a table and a range.');
    return undefined;
  }
  const report = d.insights.shown.get(range as RangeName);
  const t = report && reportTables(report).find((x) => x.id === table);
  if (!t) {
    void vscode.window.showWarningMessage('Telemetry Sink: open Show Statistics for this range first.');
    return undefined;
  }
  const csv = toCsv(t);
  if (action === 'copy') {
    await vscode.env.clipboard.writeText(csv);
    void vscode.window.showInformationMessage(`Telemetry Sink: copied "${t.title}" (${t.rows.length} rows) as CSV.`);
    return csv;
  }
  const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(d.rt.file));
  const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(base, `telemetry-${t.id}-${range as string}.csv`), filters: { CSV: ['csv'] }, saveLabel: 'Save as CSV' });
  if (!uri) return undefined;
  try {
    await vscode.workspace.fs.writeFile(uri, Buffer.from(csv, 'utf8'));
  } catch (err) {
    void vscode.window.showErrorMessage(`Telemetry Sink: could not save ${uri.fsPath}: ${(err as Error).message}`);
    return undefined;
  }
  void vscode.window.showInformationMessage(`Telemetry Sink: saved "${t.title}" to ${uri.fsPath}.`);
  return csv;
}
