import * as vscode from 'vscode';
import type { Runtime } from '../runtime';
import type { StatusBar } from '../ui/statusBar';
import type { ReportProvider } from '../ui/report';
import type { Insights } from '../ui/insights';
import type { HttpIngest } from '../ingest/httpIngest';
import type { CommandDeps } from '../commands/deps';
import { shipStatus, shipStatusLine } from '../ship/state';
import { bundle } from './load';

const FIRST_TODAY_MS = 20_000;
const TODAY_EVERY_MS = 5 * 60_000;

/**
 * What activation does not load: Verify and Repair (dist/integrity.js), Show Statistics and the
 * status bar's figures for today (dist/insights.js), the HTTP ingest (dist/http.js). Each bundle is
 * required the first time it is needed; activation only sets the timers and the wiring.
 */
export class Features implements vscode.Disposable {
  private insightsObj: Insights | undefined;
  private httpObj: HttpIngest | undefined;
  private readonly timers: NodeJS.Timeout[];
  private disposed = false;
  readonly deps: CommandDeps;

  constructor(
    private readonly rt: Runtime,
    private readonly secrets: vscode.SecretStorage,
    reports: ReportProvider,
    private readonly status: StatusBar,
    flushCollectors: () => void,
  ) {
    const insights = (): Insights => this.insights();
    this.deps = {
      rt,
      reports,
      status,
      get insights() {
        return insights();
      },
      flushCollectors,
      shipLine: shipStatusLine,
    };
    status.today = () => this.insightsObj?.today;
    status.extraProblems = () => [this.httpObj?.warning];
    const today = (): void => void this.guard('statistics for the status bar', async () => this.insights().refreshToday());
    this.timers = [setTimeout(today, FIRST_TODAY_MS), setInterval(today, TODAY_EVERY_MS)];
  }

  insights(): Insights {
    return (this.insightsObj ??= new (bundle('insights').Insights)(this.rt));
  }

  /** The HTTP ingest object (made, and dist/http.js loaded, on first use). */
  http(): HttpIngest {
    return (this.httpObj ??= new (bundle('http').HttpIngest)(this.secrets, this.rt, () => this.status.update(), shipStatus));
  }

  /** The server, if one runs (tests). */
  get ingest(): HttpIngest | undefined {
    return this.httpObj;
  }

  /** Applies the HTTP settings; nothing is loaded while the ingest is off and never was on. */
  syncHttp(): void {
    if (this.disposed || (!this.httpObj && !this.rt.settings.http.enabled)) return;
    void this.guard('HTTP ingest', () => this.http().sync());
  }

  /**
   * Runs a command or timer body that loads a bundle: a failure (e.g. a bundle missing from a broken
   * install) is logged and shown, never thrown into VS Code.
   */
  async guard<T>(what: string, fn: () => Promise<T> | T, show = false): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      const msg = `${what}: ${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message}`;
      this.rt.log.error(msg);
      if (show) void vscode.window.showErrorMessage(`Telemetry Sink: ${msg}`);
      return undefined;
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.httpObj?.dispose();
  }
}
