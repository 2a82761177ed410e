import * as vscode from 'vscode';
import { Runtime } from './runtime';
import { CATEGORIES, Category } from './core/settings';
import { Collector } from './capture/context';
import { DocumentCollector } from './capture/documents';
import { EditCollector } from './capture/edits';
import { EditorCollector, SelectionCollector } from './capture/editors';
import { WindowCollector, WorkspaceCollector } from './capture/window';
import { DebugCollector, TaskCollector, TerminalCollector } from './capture/terminals';
import { AiHeuristicCollector } from './capture/aiHeuristic';
import { StatusBar } from './ui/statusBar';
import { ReportProvider } from './ui/report';
import { createApi } from './ingest/api';
import { CallerIdentity } from './ingest/caller';
import { HttpIngest } from './ingest/httpIngest';
import type { LocalTelemetrySinkApi } from './core/ingest/local-telemetry-sink';
import type { CommandDeps } from './commands/deps';
import { verifyCommand } from './commands/verify';
import { askToRepair, repairCommand } from './commands/repair';
import { openEventsFile } from './commands/files';
import { revealEventsFolder } from './commands/revealFolder';
import { copyEventsFilePath } from './commands/copyPath';
import { rotateNow } from './commands/rotate';
import { setPaused } from './commands/pause';
import { recordCommand } from './commands/record';
import { showStatistics, statsCsv } from './commands/showStatistics';
import { Insights, setInsights } from './ui/insights';
import { setClickhousePassword } from './commands/setClickhousePassword';
import { ShipController } from './ship/controller';

const FACTORIES: Record<Category, Array<(ctx: ReturnType<Runtime['captureContext']>) => Collector>> = {
  documents: [(c) => new DocumentCollector(c)],
  edits: [(c) => new EditCollector(c)],
  editors: [(c) => new EditorCollector(c)],
  selection: [(c) => new SelectionCollector(c)],
  window: [(c) => new WindowCollector(c)],
  terminals: [(c) => new TerminalCollector(c)],
  tasks: [(c) => new TaskCollector(c)],
  debug: [(c) => new DebugCollector(c)],
  workspace: [(c) => new WorkspaceCollector(c)],
  ai: [(c) => new AiHeuristicCollector(c)],
};

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

  const active = new Map<Category, Collector[]>();
  const ctx = rt.captureContext();
  const syncCollectors = (): void => {
    for (const c of CATEGORIES) {
      const want = rt.settings.enabled && rt.settings.capture[c] && (c !== 'ai' || rt.settings.ai.heuristic);
      const have = active.get(c);
      if (want && !have) active.set(c, FACTORIES[c].map((f) => f(ctx)));
      if (!want && have) {
        for (const x of have) x.dispose();
        active.delete(c);
      }
    }
  };
  const flushCollectors = (): void => {
    for (const list of active.values()) for (const x of list) (x as { flush?: () => void }).flush?.();
  };
  flushAll = flushCollectors;
  syncCollectors();
  context.subscriptions.push({ dispose: () => active.forEach((l) => l.forEach((x) => x.dispose())) });

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
  let confirmRepair = askToRepair; // replaced only by the in-host tests' hook below

  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  reg('telemetrySink.verify', () => verifyCommand(deps));
  reg('telemetrySink.verifyDeep', () => verifyCommand(deps, { deep: true }));
  // Arguments are ignored: Repair always asks first, whoever runs it.
  reg('telemetrySink.repair', () => repairCommand(deps, confirmRepair));
  reg('telemetrySink.openEventsFile', () => openEventsFile(deps));
  reg('telemetrySink.revealEventsFolder', () => revealEventsFolder(deps));
  reg('telemetrySink.showStatistics', (range) => showStatistics(deps, range));
  reg('telemetrySink.statsCsv', (action, table, range) => statsCsv(deps, action, table, range));
  reg('telemetrySink.rotateNow', () => rotateNow(deps));
  reg('telemetrySink.pause', () => setPaused(deps, true, callers.caller()));
  reg('telemetrySink.resume', () => setPaused(deps, false, callers.caller()));
  reg('telemetrySink.copyEventsFilePath', () => copyEventsFilePath(deps));
  reg('telemetrySink.record', (type, data) => recordCommand(deps, callers, type, data));
  reg('telemetrySink.newHttpToken', () => http.newToken(callers.caller()));
  reg('telemetrySink.ship.setPassword', (pw?: unknown) => setClickhousePassword(context.secrets, pw));
  void vscode.commands.executeCommand('setContext', 'telemetrySink.paused', false);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('telemetrySink')) return;
      flushCollectors();
      rt.reload();
      syncCollectors();
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
  const stubRepairConfirm = (answer: boolean | undefined): (() => number) => {
    let asked = 0;
    confirmRepair = answer === undefined ? askToRepair : async () => (asked++, answer);
    return () => asked;
  };
  // Test hooks for the in-host suites, only when VS Code runs the extension's tests: in normal use
  // any extension could reach them through the exports (the runtime writes anything, the token).
  if (context.extensionMode !== vscode.ExtensionMode.Test) return api;
  return Object.assign(api, { _test: { runtime: rt, status, activationMs, ingest: () => http.server, flushCollectors, httpToken: () => http.token(), stubRepairConfirm, ship } });
}

export async function deactivate(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  // deactivate runs before context.subscriptions are disposed: end open edit bursts first.
  flushAll?.();
  await rt?.close();
}
