import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { Runtime } from '../runtime';
import { IngestServer } from '../core/ingest/http';
import { shipToPrometheus, toPrometheus } from '../core/sink/metrics';
import type { ShipStatus } from '../core/ship/status';

const SECRET_KEY = 'telemetrySink.http.token';
const MIN_TOKEN = 16;

/**
 * The loopback HTTP ingest as the settings want it. It never runs open: the token is the
 * `telemetrySink.http.token` setting when set (16+ characters), else a random one generated on first
 * enable, kept in SecretStorage (shared by every window of this VS Code) and shown once. When no
 * token can be had, the server does not start and `warning` says why and how to fix it.
 */
export class HttpIngest implements vscode.Disposable {
  server: IngestServer | undefined;
  /** A problem to show in the status bar (blocked port, no token), or undefined. */
  warning: string | undefined;
  private key = '';
  private secret: string | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly rt: Runtime,
    private readonly changed: () => void,
    /** Shipping's state for /metrics (src/ship/state.ts, which lives in dist/extension.js). */
    private readonly shipStatus: () => ShipStatus | undefined,
  ) {
    this.subs.push(
      secrets.onDidChange((e) => {
        if (e.key === SECRET_KEY) void secrets.get(SECRET_KEY).then((t) => (this.secret = t), () => undefined);
      }),
    );
  }

  /** The token requests need now (read per request, so a new token applies at once). */
  token(): string | undefined {
    const fixed = this.rt.settings.http.token;
    return fixed ? (fixed.length >= MIN_TOKEN ? fixed : undefined) : this.secret;
  }

  /** Applies the settings (serialized: settings can change again while a token is being made). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.apply()).catch((err) => this.rt.log.error(`HTTP ingest: ${(err as Error).message}`));
    return this.syncing;
  }

  private async apply(): Promise<void> {
    const h = this.rt.settings.http;
    const key = JSON.stringify([h.enabled, h.port]);
    if (this.server && (!h.enabled || key !== this.key)) await this.stop();
    if (!h.enabled) return this.setWarning(undefined);
    if (h.token && h.token.length < MIN_TOKEN) return await this.refuse(`telemetrySink.http.token is shorter than ${MIN_TOKEN} characters`);
    if (!h.token && !this.secret) {
      try {
        this.secret = (await this.secrets.get(SECRET_KEY)) ?? (await this.generate());
      } catch (err) {
        return await this.refuse(`no token could be kept in VS Code's secret storage (${(err as Error).message})`);
      }
    }
    if (this.server) return;
    const srv = new IngestServer({
      port: h.port,
      token: () => this.token(),
      recordBatch: (evs) => this.rt.recordBatchFrom(evs, 'http'),
      metrics: () => {
        const st = this.rt.stats();
        return (st ? toPrometheus(st, { sid: st.sid }) : '') + shipToPrometheus(this.shipStatus());
      },
      log: (level, msg) => (level === 'error' ? this.rt.log.error(msg) : level === 'warn' ? this.rt.log.warn(msg) : this.rt.log.info(msg)),
    });
    srv.onState((s) => this.setWarning(s === 'blocked' ? `HTTP ingest: ${srv.blockedReason}` : undefined));
    this.server = srv;
    this.key = key;
    await srv.start();
  }

  /** Telemetry Sink: New HTTP Token (from the palette; another extension may not replace the token). */
  async newToken(caller: string | undefined): Promise<void> {
    if (caller) {
      this.rt.log.warn(`HTTP ingest: ${caller} asked for a new token; refused (only you can, from the palette)`);
      return;
    }
    if (this.rt.settings.http.token) {
      void vscode.window.showWarningMessage('Telemetry Sink: telemetrySink.http.token sets a fixed token; clear that setting to use a generated one.');
      return;
    }
    await this.generate();
  }

  /** Makes a new random token, stores it and shows it once. */
  private async generate(): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.secrets.store(SECRET_KEY, token);
    // Two windows enabling at once: the one whose token was stored last shows it; the other adopts it.
    const stored = await this.secrets.get(SECRET_KEY);
    this.secret = stored;
    if (stored !== token) return stored ?? token;
    this.rt.log.info('HTTP ingest: a new bearer token was generated and kept in secret storage (it is not written to this log)');
    void vscode.window
      .showInformationMessage('Telemetry Sink: HTTP ingest has a new token. Clients send "Authorization: Bearer <token>". Copy it now: it is not shown again (Telemetry Sink: New HTTP Token makes another).', 'Copy Token')
      .then((pick) => (pick ? vscode.env.clipboard.writeText(token) : undefined));
    return token;
  }

  private async refuse(why: string): Promise<void> {
    await this.stop();
    this.rt.log.error(`HTTP ingest not started: ${why}. Clear the setting to use a generated token, or set one of at least ${MIN_TOKEN} characters.`);
    this.setWarning(`HTTP ingest not started: ${why}`);
  }

  private setWarning(w: string | undefined): void {
    if (w === this.warning) return;
    this.warning = w;
    this.changed();
  }

  private async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.key = '';
    await s?.stop();
  }

  dispose(): void {
    for (const d of this.subs) d.dispose();
    void this.stop();
  }
}
