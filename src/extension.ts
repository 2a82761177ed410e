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
import { IngestServer } from './core/ingest/http';
import { shipToPrometheus, toPrometheus } from './core/sink/metrics';
import { createApi } from './ingest/api';
import type { LocalTelemetrySinkApi } from './core/ingest/local-telemetry-sink';
import type { CommandDeps } from './commands/deps';
import { verifyCommand } from './commands/verify';
import { repairCommand } from './commands/repair';
import { openEventsFile } from './commands/files';
import { revealEventsFolder } from './commands/revealFolder';
import { copyEventsFilePath } from './commands/copyPath';
import { rotateNow } from './commands/rotate';
import { setPaused } from './commands/pause';
import { recordCommand } from './commands/record';
import { showStatistics } from './commands/showStatistics';
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
export function activate(context: vscode.ExtensionContext): LocalTelemetrySinkApi & { _test: unknown } {
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
  context.subscriptions.push(reports, status);
  const deps: CommandDeps = { rt, reports, status, flushCollectors };
  // Shipping to ClickHouse: nothing of the shipper loads unless telemetrySink.ship.clickhouse.url is set.
  const ship = new ShipController(rt, context.secrets, log);
  context.subscriptions.push(ship);
  void ship.sync();

  let ingest: IngestServer | undefined;
  let ingestKey = '';
  const syncHttp = (): void => {
    const h = rt.settings.http;
    const key = JSON.stringify(h);
    if (ingest && (!h.enabled || ingestKey !== key)) {
      void ingest.stop();
      ingest = undefined;
    }
    if (h.enabled && !ingest) {
      ingest = new IngestServer({
        port: h.port,
        token: h.token || undefined,
        record: (ev) => rt.recordStrict(ev.type, ev.data, 'http'),
        metrics: () => {
          const st = rt.stats();
          return (st ? toPrometheus(st, { sid: st.sid }) : '') + shipToPrometheus(ship.status());
        },
        log: (level, msg) => (level === 'error' ? log.error(msg) : log.info(msg)),
      });
      ingestKey = key;
      void ingest.start();
    }
  };
  syncHttp();
  context.subscriptions.push({ dispose: () => void ingest?.stop() });

  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  reg('telemetrySink.verify', () => verifyCommand(deps));
  reg('telemetrySink.repair', (opts?: unknown) => repairCommand(deps, (opts as { confirm?: boolean }) ?? {}));
  reg('telemetrySink.openEventsFile', () => openEventsFile(deps));
  reg('telemetrySink.revealEventsFolder', () => revealEventsFolder(deps));
  reg('telemetrySink.showStatistics', () => showStatistics(deps));
  reg('telemetrySink.rotateNow', () => rotateNow(deps));
  reg('telemetrySink.pause', () => setPaused(deps, true));
  reg('telemetrySink.resume', () => setPaused(deps, false));
  reg('telemetrySink.copyEventsFilePath', () => copyEventsFilePath(deps));
  reg('telemetrySink.record', (type, data, ext) => recordCommand(deps, type, data, ext));
  reg('telemetrySink.ship.setPassword', (pw?: unknown) => setClickhousePassword(context.secrets, pw));
  void vscode.commands.executeCommand('setContext', 'telemetrySink.paused', false);

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('telemetrySink')) return;
      flushCollectors();
      rt.reload();
      syncCollectors();
      syncHttp();
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
  const api = createApi(rt);
  // Test hooks (in-host suites): not part of the documented API.
  return Object.assign(api, { _test: { runtime: rt, status, activationMs, ingest: () => ingest, flushCollectors, ship } });
}

export async function deactivate(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  // deactivate runs before context.subscriptions are disposed: end open edit bursts first.
  flushAll?.();
  await rt?.close();
}
