import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { CommandDeps } from './deps';
import { stats } from '../core/integrity/stats';
import { renderStatsHtml } from '../core/report/statsHtml';
import { withShipLine } from '../ship/state';

let panel: vscode.WebviewPanel | undefined;

/** Telemetry Sink: Show Statistics — a webview drawn from the file (strict CSP, no scripts). */
export async function showStatistics(d: CommandDeps): Promise<string | undefined> {
  d.flushCollectors();
  await d.rt.sink?.flush();
  let report;
  try {
    report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Telemetry Sink: reading statistics' }, () => stats({ file: d.rt.file, all: true }));
  } catch (err) {
    void vscode.window.showErrorMessage(`Telemetry Sink: cannot read statistics: ${(err as Error).message}`);
    return undefined;
  }
  if (!panel) {
    panel = vscode.window.createWebviewPanel('telemetrySink.stats', 'Telemetry Statistics', vscode.ViewColumn.Active, { enableScripts: false, localResourceRoots: [] });
    panel.onDidDispose(() => (panel = undefined));
  } else panel.reveal();
  const html = withShipLine(renderStatsHtml(report, d.rt.stats(), randomBytes(16).toString('base64'), panel.webview.cspSource));
  panel.webview.html = html;
  return html;
}
