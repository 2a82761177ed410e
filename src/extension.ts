import * as vscode from 'vscode';
import { Runtime } from './runtime';
import { Collectors } from './capture/collectors';
import { setEditQuietMsForTests } from './capture/edits';
import { StatusBar } from './ui/statusBar';
import { ReportProvider } from './ui/report';
import { createApi } from './ingest/api';
import { CallerIdentity } from './ingest/caller';
import { HttpIngest } from './ingest/httpIngest';
import type { LocalTelemetrySinkApi } from './core/ingest/local-telemetry-sink';
import type { CommandDeps } from './commands/deps';
import { registerCommands } from './commands/register';
import { Insights, setInsights } from './ui/insights';
import { ShipController } from './ship/controller';

let runtime: Runtime | undefined;
let flushAll: (() => void) | undefined;

/** Composition root: settings → sink → collectors, commands, status bar, HTTP ingest, API. */
export function activate(context: vscode.ExtensionContext): LocalTelemetrySinkApi & { _test?: unknown } {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Telemetry Sink', { log: true });
  context.subscriptions.push(log);
  const rt = new Runtime(log, String(context.extension.packageJSON.version ?? '0.0.0'));
  runtime = rt;
  context.subscriptions.push(rt);
  rt.updatePause();
  rt.open('activate');

  const collectors = new Collectors(rt.captureContext());
  const flushCollectors = (): void => collectors.flush();
  flushAll = flushCollectors;
  collectors.sync(rt.settings);
  context.subscriptions.push(collectors);

  const reports = new ReportProvider();
  const status = new StatusBar(rt);
  const insights = new Insights(rt);
  setInsights(insights);
  context.subscriptions.push(reports, status, insights, { dispose: () => setInsights(undefined) });
  const deps: CommandDeps = { rt, reports, status, insights, flushCollectors };
  // Shipping to ClickHouse: nothing of the shipper loads unless telemetrySink.ship.clickhouse.url is set.
  const ship = new ShipController(rt, context.secrets, log);
  context.subscriptions.push(ship);
  void ship.sync();

  const http = new HttpIngest(context.secrets, rt, () => status.update());
  status.extraProblems = () => [http.warning];
  context.subscriptions.push(http);
  void http.sync();
  const callers = new CallerIdentity(context.extension.id);
  context.subscriptions.push(callers);
  const stubRepairConfirm = registerCommands(context, deps, callers, http);
  void vscode.commands.executeCommand('setContext', 'telemetrySink.paused', false);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('telemetrySink')) return;
      flushCollectors();
      rt.reload();
      collectors.sync(rt.settings);
      void http.sync();
      void ship.sync();
      log.info('settings applied');
    }),
    vscode.env.onDidChangeTelemetryEnabled(() => {
      rt.updatePause();
      rt.open('telemetry_level_changed');
      status.update();
    }),
  );

  const activationMs = performance.now() - t0;
  log.info(`activated in ${activationMs.toFixed(1)} ms; lock backend ${rt.sink?.backend.name ?? 'none'}; file ${rt.file}`);
  const api = createApi(rt, callers);
  // Test hooks for the in-host suites, only when VS Code runs the extension's tests: in normal use
  // any extension could reach them through the exports (the runtime writes anything, the token).
  if (context.extensionMode !== vscode.ExtensionMode.Test) return api;
  return Object.assign(api, { _test: { runtime: rt, status, activationMs, ingest: () => http.server, flushCollectors, httpToken: () => http.token(), stubRepairConfirm, ship, setEditQuietMs: setEditQuietMsForTests } });
}

export async function deactivate(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  // deactivate runs before context.subscriptions are disposed: end open edit bursts first.
  flushAll?.();
  await rt?.close();
}
