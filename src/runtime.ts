import * as vscode from 'vscode';
import * as path from 'node:path';
import { Sink, SinkStats } from './core/sink/appender';
import { defaultEventsFile, expandHome } from './core/sink/paths';
import { parseSettings, Settings, sinkKey } from './core/settings';
import { Excluder, loadPathSalt, presentPath, scrubPaths } from './core/privacy';
import { admit, Admitted } from './core/ingest/policy';
import type { NormalizedEvent } from './core/ingest/input';
import type { CaptureContext } from './capture/context';

/**
 * The window's one sink and the state around it (paused, settings). Collectors, commands, the API
 * and the HTTP ingest all record through here; nothing here throws into VS Code.
 */
export class Runtime implements vscode.Disposable {
  sink: Sink | undefined;
  settings: Settings;
  file: string;
  paused = false;
  pauseReason: string | undefined;
  openError: string | undefined;
  private excluder: Excluder;
  private salt: { dir: string; salt?: Buffer } | undefined;
  private readonly contentLogged = new Set<string>();
  private key = '';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  eventsThisSession = 0;

  constructor(readonly log: vscode.LogOutputChannel, private readonly extensionVersion: string) {
    const { settings } = this.readSettings();
    this.settings = settings;
    this.file = resolveFile(settings);
    this.excluder = new Excluder(settings.exclude);
  }

  private readSettings(): { settings: Settings; warnings: string[] } {
    const cfg = vscode.workspace.getConfiguration('telemetrySink');
    const r = parseSettings((k) => {
      const i = cfg.inspect(k);
      return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue ?? i?.defaultValue;
    });
    for (const w of r.warnings) this.log.warn(w);
    return r;
  }

  /** Opens the sink (again) when the settings that shape it changed. */
  open(reason: string): void {
    const file = resolveFile(this.settings);
    this.file = file;
    this.salt = undefined; // read again (its folder may only now exist)
    // Disabled (or VS Code's telemetry off while honoured): nothing at all is written, not even
    // session events; a sink that was open ends its session.
    if (this.writeNothing()) {
      if (this.sink) void this.sink.close({ sessionEnd: { reason: 'disabled' } });
      this.sink = undefined;
      this.key = '';
      this.changed.fire();
      return;
    }
    const key = sinkKey(this.settings, file);
    if (this.sink && key === this.key) return;
    const old = this.sink;
    if (old) void old.close({ sessionEnd: { reason } });
    this.key = key;
    this.eventsThisSession = 0;
    try {
      const s = this.settings;
      this.sink = new Sink({
        file,
        source: 'vscode',
        lock: s.lock.backend,
        lockTimeoutMs: s.lock.timeoutMs,
        fsync: s.fsync,
        flushIntervalMs: s.flushIntervalMs,
        maxQueueEvents: s.queue.maxEvents,
        maxQueueBytes: s.queue.maxBytes,
        rotation: s.rotation,
        log: (level, msg) => (level === 'error' ? this.log.error(msg) : level === 'warn' ? this.log.warn(msg) : this.log.info(msg)),
      });
      this.openError = undefined;
      this.sink.onFault(() => this.changed.fire());
      this.sink.record('session.start', this.sessionInfo(reason));
    } catch (err) {
      this.sink = undefined;
      this.openError = `${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message}`;
      this.log.error(`cannot open the events file: ${this.openError}`);
    }
    this.changed.fire();
  }

  private sessionInfo(reason: string): Record<string, unknown> {
    return {
      reason,
      vscode_version: vscode.version,
      app_name: vscode.env.appName,
      app_host: vscode.env.appHost,
      remote_name: vscode.env.remoteName ?? null,
      ui_kind: vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop',
      platform: process.platform,
      arch: process.arch,
      node: process.versions.node,
      extension_version: this.extensionVersion,
      pid: process.pid,
      lock_backend: this.sink?.backend.name,
      lock_provider: this.sink?.backend.provider ?? null,
      lock_backend_reason: this.sink ? scrubPaths(this.sink.backendReason, [path.dirname(this.file)]) : undefined,
    };
  }

  /** Re-reads settings and applies them (pause state, exclusions, the sink if its shape changed). */
  reload(): void {
    const { settings } = this.readSettings();
    this.settings = settings;
    this.excluder = new Excluder(settings.exclude);
    this.updatePause();
    this.open('settings_changed');
    this.changed.fire();
  }

  private writeNothing(): boolean {
    return !this.settings.enabled || (this.settings.honorVsCodeTelemetryLevel && !vscode.env.isTelemetryEnabled);
  }

  updatePause(): void {
    const s = this.settings;
    let reason: string | undefined;
    if (!s.enabled) reason = 'disabled in settings';
    else if (s.honorVsCodeTelemetryLevel && !vscode.env.isTelemetryEnabled) reason = "VS Code's telemetry level is off";
    else if (this.userPaused) reason = 'paused by you';
    this.paused = reason !== undefined;
    this.pauseReason = reason;
  }

  private userPaused = false;
  /** `by`: "user", or api:<id> of the extension that ran the command. */
  setUserPaused(p: boolean, by = 'user'): void {
    this.userPaused = p;
    this.updatePause();
    this.sink?.record(p ? 'sink.paused' : 'sink.resumed', { by });
    this.changed.fire();
  }

  /** Records from collectors (dropped while paused). Never throws. */
  record(type: string, data: Record<string, unknown>, source?: string): number {
    if (this.paused || !this.sink) return -1;
    try {
      const seq = this.sink.record(type, data, source);
      if (seq >= 0) this.eventsThisSession++;
      return seq;
    } catch (err) {
      this.log.error(`dropped an invalid ${type} event: ${(err as Error).message}`);
      return -1;
    }
  }

  /**
   * Records one event from an outside caller (API, command): the door policy (reserved types,
   * content), then the sink. Invalid input throws an Error with code ERR_INVALID_EVENT naming the
   * field; a missing events file throws ERR_OPEN.
   */
  recordFrom(ev: NormalizedEvent, source: string): number {
    const a = this.admit(ev, source);
    if (this.paused) return -1;
    const seq = this.openSink().record(a.type, a.data, source);
    if (seq >= 0) this.eventsThisSession++;
    return seq;
  }

  /**
   * Records a batch from an outside caller (HTTP) all or nothing: every event passes the policy and
   * is serialized before any is queued. Returns the seqs (all -1 while paused), or null when the
   * queue cannot take the whole batch (nothing queued). Throws like recordFrom, naming the event.
   */
  recordBatchFrom(evs: NormalizedEvent[], source: string): number[] | null {
    const list = evs.map((ev, i) => {
      try {
        return this.admit(ev, source);
      } catch (err) {
        throw Object.assign(new Error(`${evs.length > 1 ? `event ${i}: ` : ''}${(err as Error).message}`), { code: (err as { code?: string }).code });
      }
    });
    if (this.paused) return list.map(() => -1);
    const seqs = this.openSink().recordAll(list, source);
    if (seqs) this.eventsThisSession += seqs.filter((s) => s >= 0).length;
    return seqs;
  }

  private admit(ev: NormalizedEvent, source: string): Admitted {
    const a = admit(ev, { captureContent: this.settings.captureContent });
    if (a.removed.length && !this.contentLogged.has(source) && this.contentLogged.size < 100) {
      this.contentLogged.add(source);
      this.log.info(`captureContent is off: left content fields (${a.removed.slice(0, 8).join(', ')}) out of ${source}'s events; logged once per caller`);
    }
    return a;
  }

  private openSink(): Sink {
    if (!this.sink) throw Object.assign(new Error('Local Telemetry Sink has no events file open (see the Telemetry Sink log)'), { code: 'ERR_OPEN' });
    return this.sink;
  }

  /** The per-installation salt of hashed paths, loaded once per events folder (undefined on failure). */
  private pathSalt(): Buffer | undefined {
    const dir = path.dirname(this.file);
    if (this.salt?.dir !== dir) {
      this.salt = { dir };
      try {
        this.salt.salt = loadPathSalt(dir);
      } catch (err) {
        this.log.error(`pathMode hashed: no salt, so no path is written (${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message})`);
      }
    }
    return this.salt.salt;
  }

  captureContext(): CaptureContext {
    return {
      record: (type, data) => void this.record(type, data),
      settings: () => this.settings,
      describe: (uri) => {
        if (!this.settings.schemes.includes(uri.scheme)) return null;
        if (uri.scheme === 'file' && this.excluder.excluded(uri.fsPath)) return null;
        const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
        const mode = this.settings.pathMode;
        const p = presentPath(uri.scheme === 'file' ? uri.fsPath : uri.path, { mode, roots, salt: mode === 'hashed' ? this.pathSalt() : undefined }, uri.scheme);
        return p === undefined ? {} : { path: p };
      },
      log: this.log,
    };
  }

  stats(): SinkStats | undefined {
    return this.sink?.stats();
  }

  async close(): Promise<void> {
    const s = this.sink;
    this.sink = undefined;
    if (s) {
      const r = await s.close({ sessionEnd: { reason: 'window_closed' } });
      if (r.error) this.log.error(`closing: ${r.error.code}: ${r.error.message}`);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function resolveFile(s: Settings): string {
  return s.file ? expandHome(s.file) : defaultEventsFile();
}
