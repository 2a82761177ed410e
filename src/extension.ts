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
import type { LocalTelemetrySinkApi } from './core/ingest/local-telemetry-sink';
import { openEventsFile } from './commands/files';
import { revealEventsFolder } from './commands/revealFolder';
import { copyEventsFilePath } from './commands/copyPath';
import { rotateNow } from './commands/rotate';
import { setPaused } from './commands/pause';
import { recordCommand } from './commands/record';
import { setClickhousePassword } from './commands/setClickhousePassword';
import { ShipController } from './ship/controller';
import { Features } from './lazy/features';
import { bundle, loadedBundles } from './lazy/load';

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

/**
 * Composition root: settings, collectors, commands, status bar, API — only what must exist at
 * startup. The sink opens right after (Runtime.open); Verify/Repair, statistics and HTTP ingest load
 * on first use (src/lazy/). "Developer: Show Running Extensions" shows what this costs.
 */
export function activate(context: vscode.ExtensionContext): LocalTelemetrySinkApi & { _test?: unknown } {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Telemetry Sink', { log: true });
  context.subscriptions.push(log);
  const rt = new Runtime(log, String(context.extension.packageJSON.version ?? '0.0.0'));
  runtime = rt;
  context.subscriptions.push(rt);
  rt.updatePause();
  rt.open('activate');

  const collectors = startCollectors(rt);
  flushAll = collectors.flush;
  context.subscriptions.push(collectors);

  const reports = new ReportProvider();
  const status = new StatusBar(rt);
  const features = new Features(rt, context.secrets, reports, status, collectors.flush);
  context.subscriptions.push(reports, status, features);
  // Shipping to ClickHouse: nothing of the shipper loads unless telemetrySink.ship.clickhouse.url is set.
  const ship = new ShipController(rt, context.secrets, log);
  context.subscriptions.push(ship);
  void ship.sync();
  setImmediate(() => features.syncHttp());
  const callers = new CallerIdentity(context.extension.id);
  context.subscriptions.push(callers);
  const repair = registerCommands(context, features, callers);
  void vscode.commands.executeCommand('setContext', 'telemetrySink.paused', false);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('telemetrySink')) return;
      collectors.flush();
      rt.reload();
      collectors.sync();
      features.syncHttp();
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
  const bundlesAtActivation = loadedBundles();
  setImmediate(() => log.info(`activated in ${activationMs.toFixed(1)} ms; lock backend ${rt.sink?.backend.name ?? 'none'}; file ${rt.file}`));
  const api = createApi(rt, callers);
  // Test hooks for the in-host suites, only when VS Code runs the extension's tests: in normal use
  // any extension could reach them through the exports (the runtime writes anything, the token).
  if (context.extensionMode !== vscode.ExtensionMode.Test) return api;
  const hooks = { runtime: rt, status, activationMs, bundlesAtActivation, loadedBundles, ingest: () => features.ingest?.server, flushCollectors: collectors.flush, httpToken: () => features.ingest?.token(), stubRepairConfirm: repair.stub, ship };
  return Object.assign(api, { _test: hooks });
}

/** The collectors the settings ask for, started and stopped as they change. */
function startCollectors(rt: Runtime): vscode.Disposable & { sync(): void; flush(): void } {
  const active = new Map<Category, Collector[]>();
  const ctx = rt.captureContext();
  const sync = (): void => {
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
  const flush = (): void => {
    for (const list of active.values()) for (const x of list) (x as { flush?: () => void }).flush?.();
  };
  sync();
  return { sync, flush, dispose: () => active.forEach((l) => l.forEach((x) => x.dispose())) };
}

/** Registers every command; the heavy ones load their bundle when first run. */
function registerCommands(context: vscode.ExtensionContext, f: Features, callers: CallerIdentity): { stub: (answer: boolean | undefined) => () => number } {
  const d = f.deps;
  let confirmRepair: ((file: string) => Promise<boolean>) | undefined; // replaced only by the in-host tests' hook
  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  const lazy = (id: string, fn: (...args: unknown[]) => unknown): void => reg(id, (...args) => f.guard(id, () => fn(...args), true));
  lazy('telemetrySink.verify', () => bundle('integrity').verifyCommand(d));
  lazy('telemetrySink.verifyDeep', () => bundle('integrity').verifyCommand(d, { deep: true }));
  // Arguments are ignored: Repair always asks first, whoever runs it.
  lazy('telemetrySink.repair', () => bundle('integrity').repairCommand(d, confirmRepair));
  lazy('telemetrySink.showStatistics', (range) => bundle('insights').showStatistics(d, range));
  lazy('telemetrySink.statsCsv', (action, table, range) => bundle('insights').statsCsv(d, action, table, range));
  reg('telemetrySink.openEventsFile', () => openEventsFile(d));
  reg('telemetrySink.revealEventsFolder', () => revealEventsFolder(d));
  reg('telemetrySink.rotateNow', () => rotateNow(d));
  reg('telemetrySink.pause', () => setPaused(d, true, callers.caller()));
  reg('telemetrySink.resume', () => setPaused(d, false, callers.caller()));
  reg('telemetrySink.copyEventsFilePath', () => copyEventsFilePath(d));
  reg('telemetrySink.record', (type, data) => recordCommand(d, callers, type, data));
  reg('telemetrySink.newHttpToken', () => {
    const caller = callers.caller(); // from this synchronous stack: who ran the command
    return f.guard('New HTTP Token', () => f.http().newToken(caller), true);
  });
  reg('telemetrySink.ship.setPassword', (pw?: unknown) => setClickhousePassword(context.secrets, pw));
  const stub = (answer: boolean | undefined): (() => number) => {
    let asked = 0;
    confirmRepair = answer === undefined ? undefined : async () => (asked++, answer);
    return () => asked;
  };
  return { stub };
}

export async function deactivate(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  // deactivate runs before context.subscriptions are disposed: end open edit bursts first.
  flushAll?.();
  await rt?.close();
}
