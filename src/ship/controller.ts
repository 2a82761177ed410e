/**
 * Shipping from VS Code. Off while telemetrySink.ship.clickhouse.url is empty: then nothing of the
 * shipper is loaded. On: dist/ship.js is required, and an election (a flock on a lock file beside the
 * events file, shared with `telemetry-sink ship`) makes exactly one window ship; the others stand by,
 * retry every 2 s and take over when it closes. The password comes from SecretStorage.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type * as ShipModule from './bundle';
import type { Election } from '../core/ship/election';
import type { Shipper } from '../core/ship/shipper';
import { parseShipSettings, ShipSettings } from '../core/ship/settings';
import { emptyStatus, fromCursor, ShipStatus } from '../core/ship/status';
import type { Runtime } from '../runtime';
import { setShipStatusSource } from './state';

export const PASSWORD_KEY = 'telemetrySink.ship.clickhouse.password';
/** After the shipper stopped on an error that waiting does not cure, try again this much later. */
const RESTART_MS = 60_000;
const STANDBY_REFRESH_MS = 2_000;

let shipModule: typeof ShipModule | undefined;
function loadShipModule(): typeof ShipModule {
  // A separate bundle beside dist/extension.js; a computed path keeps esbuild from inlining it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  shipModule ??= require(path.join(__dirname, 'ship.js')) as typeof ShipModule;
  return shipModule;
}

export class ShipController implements vscode.Disposable {
  private key = '';
  private election: Election | undefined;
  private shipper: Shipper | undefined;
  private abort: AbortController | undefined;
  private running: Promise<unknown> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private current: ShipStatus | undefined;
  private standbyReadAt = 0;
  private readonly subs: vscode.Disposable[] = [];
  private disposed = false;

  constructor(private readonly rt: Runtime, private readonly secrets: vscode.SecretStorage, private readonly log: vscode.LogOutputChannel) {
    this.subs.push(secrets.onDidChange((e) => (e.key === PASSWORD_KEY ? void this.sync(true) : undefined)));
    setShipStatusSource(() => this.status());
  }

  private readSettings(): ShipSettings {
    const cfg = vscode.workspace.getConfiguration('telemetrySink.ship');
    const r = parseShipSettings((k) => cfg.get(k));
    for (const w of r.warnings) this.log.warn(w);
    return r.settings;
  }

  private syncing: Promise<void> = Promise.resolve();

  /** Applies settings (and the password): starts, restarts or stops shipping. Never throws. Serialized. */
  sync(force = false): Promise<void> {
    this.syncing = this.syncing.then(() => this.apply(force));
    return this.syncing;
  }

  private async apply(force: boolean): Promise<void> {
    if (this.disposed) return;
    const s = this.readSettings();
    const key = JSON.stringify([s, this.rt.file]);
    if (!force && key === this.key) return;
    this.key = key;
    await this.stop();
    if (!s.url) {
      this.current = undefined;
      return;
    }
    try {
      const password = (await this.secrets.get(PASSWORD_KEY)) ?? '';
      this.start(s, password);
    } catch (err) {
      this.current = emptyStatus(s.url, 'off');
      this.failed(err);
    }
  }

  private start(s: ShipSettings, password: string): void {
    const mod = loadShipModule();
    const dest = { url: s.url, database: s.database, table: s.table, user: s.user, password };
    const { label } = mod.checkDestination(dest);
    const cleartext = mod.cleartextWarning(dest);
    if (cleartext) this.log.warn(`shipping: ${cleartext}`);
    const file = this.rt.file;
    this.current = emptyStatus(label, 'standby');
    const election = new mod.Election(mod.shipPaths(file, label).lock, {
      retryMs: 2000,
      onStandby: () => this.log.info(`shipping: another window (or telemetry-sink ship) ships ${file} to ${label}; standing by`),
      onError: (err) => this.failed(err),
      onElected: (lock) => {
        this.log.info(`shipping ${file} to ${label} (this window was elected)`);
        const ac = new AbortController();
        this.abort = ac;
        this.shipper = new mod.Shipper({
          // Smaller reads and batches than the CLI's: the extension host's thread and memory are shared.
          file, dest, lock, follow: true, identity: s.identity, batchRows: 10_000, batchBytes: 4 << 20, signal: ac.signal,
          onStatus: (st) => (this.current = st),
          log: (level, msg) => (level === 'error' ? this.log.error(`shipping: ${msg}`) : level === 'warn' ? this.log.warn(`shipping: ${msg}`) : this.log.info(`shipping: ${msg}`)),
        });
        this.running = this.shipper.run().then(
          () => undefined,
          () => {
            // The shipper logged and recorded the error; keep the lock and try again later.
            this.restartTimer = setTimeout(() => void this.sync(true), RESTART_MS);
          },
        );
      },
    });
    this.election = election;
    election.start();
  }

  private failed(err: unknown): void {
    const e = err as { code?: string; message?: string };
    const lastError = { code: e?.code ?? 'ERR_INTERNAL', message: e?.message ?? String(err), at: new Date().toISOString() };
    if (this.current) this.current = { ...this.current, phase: 'failed', lastError };
    this.log.error(`shipping: ${lastError.code}: ${lastError.message}`);
  }

  /** What the status bar, Show Statistics and /metrics show; undefined while shipping is off. */
  status(): ShipStatus | undefined {
    const cur = this.current;
    if (!cur || !this.election || this.election.role !== 'standby' || !shipModule) return cur;
    const now = Date.now();
    if (now - this.standbyReadAt >= STANDBY_REFRESH_MS) {
      this.standbyReadAt = now;
      try {
        const file = this.rt.file;
        const c = shipModule.readCursor(shipModule.shipPaths(file, cur.destination).cursor, path.resolve(file), cur.destination);
        fromCursor(cur, c);
        const b = shipModule.estimateBehind(file, c);
        Object.assign(cur, { role: 'standby', behindBytes: b.bytes, behindEvents: b.events, behindApprox: true, updatedAt: new Date().toISOString() });
      } catch (err) {
        cur.lastError = { code: (err as { code?: string }).code ?? 'ERR_INTERNAL', message: (err as Error).message, at: new Date().toISOString() };
      }
    }
    return cur;
  }

  /** The role of this window (tests and the log). */
  get role(): 'shipping' | 'standby' | 'off' {
    return !this.election ? 'off' : this.election.role === 'leader' ? 'shipping' : 'standby';
  }

  /** Stops shipping; the lock is released once the shipper has stopped (so a standby takes over). */
  async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.abort?.abort();
    const running = this.running;
    const election = this.election;
    this.abort = undefined;
    this.running = undefined;
    this.shipper = undefined;
    this.election = undefined;
    await running;
    election?.stop();
  }

  dispose(): void {
    this.disposed = true;
    void this.stop();
    for (const s of this.subs) s.dispose();
    setShipStatusSource(undefined);
  }
}
