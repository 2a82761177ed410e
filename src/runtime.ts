import * as vscode from 'vscode';
import * as path from 'node:path';
import type { Sink, SinkStats } from './core/sink/appender';
import { defaultEventsFile, expandHome } from './core/sink/paths';
import { parseSettings, Settings, sinkKey } from './core/settings';
import type { Excluder } from './core/privacy';
import type { Admitted } from './core/ingest/policy';
import type { NormalizedEvent } from './core/ingest/input';
import type { CaptureContext } from './capture/context';
import { bundle, Bundles } from './lazy/load';

/** Events held while the sink is not made yet; past this many the sink is made at once. */
export const EARLY_MAX = 1000;

interface Early {
  type: string;
  data: Record<string, unknown>;
  source?: string;
  at: number;
}

/** A session asked for and not opened yet: its settings, start time and the events recorded since. */
interface Pending {
  reason: string;
  settings: Settings;
  file: string;
  at: number;
  events: Early[];
}

/**
 * The window's one sink and the state around it (paused, settings). Collectors, commands, the API
 * and the HTTP ingest all record through here; nothing here throws into VS Code.
 *
 * Opening is off the activation path: open() only notes the session; the sink (dist/sink.js, the
 * lock provider, the file) is made on the next turn of the event loop, or at once by whatever needs
 * it first (`sink`, an outside caller, close). Events recorded before that are held in order with
 * their time and written after `session.start`, which stays the session's first event (seq 0).
 */
export class Runtime implements vscode.Disposable {
  private current: Sink | undefined;
  private pending: Pending | undefined;
  private openSoon: NodeJS.Immediate | undefined;
  settings: Settings;
  file: string;
  paused = false;
  pauseReason: string | undefined;
  openError: string | undefined;
  private excluder: Excluder | undefined;
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
  }

  /** The writer, door policy and privacy rules (dist/sink.js), loaded on first use. */
  core(): Bundles['sink'] {
    return bundle('sink');
  }

  /** The open sink; a session still pending is opened first. */
  get sink(): Sink | undefined {
    this.openPending();
    return this.current;
  }

  private readSettings(): { settings: Settings; warnings: string[] } {
    // get(), not inspect() per key: inspect() cost 40-230 ms for our ~40 keys in a cold extension
    // host (most of activate()); get() takes under 1 ms and applies the same precedence (folder >
    // workspace > user > default), plus policy and in-memory values as every other extension sees them.
    const cfg = vscode.workspace.getConfiguration('telemetrySink');
    const r = parseSettings((k) => cfg.get(k));
    for (const w of r.warnings) this.log.warn(w);
    return r;
  }

  /** Starts a session (again) when the settings that shape the sink changed; the sink is made soon after. */
  open(reason: string): void {
    const file = resolveFile(this.settings);
    const key = sinkKey(this.settings, file);
    const same = (this.current || this.pending) && key === this.key && !this.writeNothing();
    // A session still pending ends like any other: opened with what it holds, then closed below.
    if (!same) this.openPending();
    this.file = file;
    this.salt = undefined; // read again (its folder may only now exist)
    if (same) return;
    // Disabled (or VS Code's telemetry off while honoured): nothing at all is written, not even
    // session events; a sink that was open ends its session.
    const old = this.current;
    this.current = undefined;
    if (this.writeNothing()) {
      if (old) void old.close({ sessionEnd: { reason: 'disabled' } });
      this.key = '';
      this.changed.fire();
      return;
    }
    if (old) void old.close({ sessionEnd: { reason } });
    this.key = key;
    this.eventsThisSession = 0;
    this.openError = undefined;
    this.pending = { reason, settings: this.settings, file, at: Date.now(), events: [] };
    this.openSoon = setImmediate(() => this.openPending());
    this.changed.fire();
  }

  /** Makes the pending session's sink: session.start (seq 0), then the events held. Never throws. */
  private openPending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    if (this.openSoon) clearImmediate(this.openSoon);
    this.openSoon = undefined;
    let sink: Sink;
    try {
      const s = p.settings;
      sink = new (this.core().Sink)({
        file: p.file,
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
      sink.onFault(() => this.changed.fire());
      sink.record('session.start', this.sessionInfo(p.reason, sink), undefined, p.at);
    } catch (err) {
      this.openError = `${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message}`;
      const lost = p.events.length ? `; ${p.events.length} event(s) recorded before it opened are not written` : '';
      this.log.error(`cannot open the events file: ${this.openError}${lost}`);
      this.changed.fire();
      return;
    }
    this.current = sink;
    for (const e of p.events) this.write(sink, e.type, e.data, e.source, e.at);
    this.changed.fire();
  }

  private sessionInfo(reason: string, sink: Sink): Record<string, unknown> {
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
      lock_backend: sink.backend.name,
      lock_provider: sink.backend.provider ?? null,
      lock_backend_reason: this.core().scrubPaths(sink.backendReason, [path.dirname(sink.file)]),
    };
  }

  /** Re-reads settings and applies them (pause state, exclusions, the sink if its shape changed). */
  reload(): void {
    const { settings } = this.readSettings();
    this.settings = settings;
    this.excluder = undefined;
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

  /** Records from collectors (dropped while paused; held in order while the sink is being made). Never throws. */
  record(type: string, data: Record<string, unknown>, source?: string): void {
    if (this.paused) return;
    const p = this.pending;
    if (p && p.events.length < EARLY_MAX) {
      p.events.push({ type, data, source, at: Date.now() });
      return;
    }
    const sink = this.sink;
    if (sink) this.write(sink, type, data, source);
  }

  private write(sink: Sink, type: string, data: Record<string, unknown>, source: string | undefined, at?: number): void {
    try {
      if (sink.record(type, data, source, at) >= 0) this.eventsThisSession++;
    } catch (err) {
      this.log.error(`dropped an invalid ${type} event: ${(err as Error).message}`);
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
    const a = this.core().admit(ev, { captureContent: this.settings.captureContent });
    if (a.removed.length && !this.contentLogged.has(source) && this.contentLogged.size < 100) {
      this.contentLogged.add(source);
      this.log.info(`captureContent is off: left content fields (${a.removed.slice(0, 8).join(', ')}) out of ${source}'s events; logged once per caller`);
    }
    return a;
  }

  private openSink(): Sink {
    const sink = this.sink;
    if (!sink) throw Object.assign(new Error('Local Telemetry Sink has no events file open (see the Telemetry Sink log)'), { code: 'ERR_OPEN' });
    return sink;
  }

  /** The per-installation salt of hashed paths, loaded once per events folder (undefined on failure). */
  private pathSalt(): Buffer | undefined {
    const dir = path.dirname(this.file);
    if (this.salt?.dir !== dir) {
      this.salt = { dir };
      try {
        this.salt.salt = this.core().loadPathSalt(dir);
      } catch (err) {
        this.log.error(`pathMode hashed: no salt, so no path is written (${(err as { code?: string }).code ?? 'ERR'}: ${(err as Error).message})`);
      }
    }
    return this.salt.salt;
  }

  captureContext(): CaptureContext {
    return {
      record: (type, data) => this.record(type, data),
      settings: () => this.settings,
      describe: (uri) => {
        if (!this.settings.schemes.includes(uri.scheme)) return null;
        const core = this.core();
        this.excluder ??= new core.Excluder(this.settings.exclude);
        if (uri.scheme === 'file' && this.excluder.excluded(uri.fsPath)) return null;
        const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
        const mode = this.settings.pathMode;
        const p = core.presentPath(uri.scheme === 'file' ? uri.fsPath : uri.path, { mode, roots, salt: mode === 'hashed' ? this.pathSalt() : undefined }, uri.scheme);
        return p === undefined ? {} : { path: p };
      },
      log: this.log,
    };
  }

  /** The open sink's figures (a pending session is not opened for this: the status bar asks often). */
  stats(): SinkStats | undefined {
    return this.current?.stats();
  }

  async close(): Promise<void> {
    const s = this.sink;
    this.current = undefined;
    if (s) {
      const r = await s.close({ sessionEnd: { reason: 'window_closed' } });
      if (r.error) this.log.error(`closing: ${r.error.code}: ${r.error.message}`);
    }
  }

  dispose(): void {
    if (this.openSoon) clearImmediate(this.openSoon);
    this.changed.dispose();
  }
}

export function resolveFile(s: Settings): string {
  return s.file ? expandHome(s.file) : defaultEventsFile();
}
