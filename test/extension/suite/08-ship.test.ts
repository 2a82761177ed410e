import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as vscode from 'vscode';
import { ext, setting, waitFor } from './helpers';
import { ensureClickHouse, onCi, startClickHouse, ClickHouseServer } from '../../helpers/clickhouse';
import { freePort } from '../../helpers/ports';
import type { ShipController } from '../../../src/ship/controller';

const shipLoaded = (): boolean => Object.keys(require.cache).some((k) => /[\\/]dist[\\/]ship\.js$/.test(k));
const count = (ch: ClickHouseServer, where: string): Promise<number> => ch.scalar(`SELECT count() FROM inhost.events FINAL WHERE ${where}`).catch(() => 0);

function get(port: number, p: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
}

describe('shipping to ClickHouse', function () {
  let ch: ClickHouseServer | undefined;
  before(async function () {
    this.timeout(180_000);
    const r = ensureClickHouse();
    if (!r.ok) {
      if (onCi()) throw new Error(`CI needs ClickHouse: ${r.reason}`);
      this.skip();
    }
    ch = await startClickHouse();
  });
  after(async () => {
    await setting('ship.clickhouse.url', undefined);
    await setting('ship.clickhouse.database', undefined);
    await ch?.destroy();
  });

  it('is off by default: the shipper bundle is not even loaded', async () => {
    const { hooks } = await ext();
    const ship = (hooks as unknown as { ship: ShipController }).ship;
    assert.equal(ship.role, 'off');
    assert.equal(ship.status(), undefined);
    assert.equal(shipLoaded(), false, 'dist/ship.js stays unloaded while shipping is off');
  });

  it('ships once a URL is set (this window is elected); the tooltip, Show Statistics and /metrics show it', async function () {
    this.timeout(120_000);
    const { api, hooks } = await ext();
    const ship = (hooks as unknown as { ship: ShipController }).ship;
    await setting('ship.clickhouse.database', 'inhost');
    await setting('ship.clickhouse.url', ch!.url);
    await waitFor('elected', () => ship.role === 'shipping', 15_000);
    assert.equal(shipLoaded(), true);
    api.record('test.ship', { n: 1 });
    await hooks.runtime.sink?.flush();
    await waitFor('the event in ClickHouse', async () => (await count(ch!, "type = 'test.ship'")) === 1, 30_000);
    const sid = hooks.runtime.sink!.sid;
    assert.ok((await count(ch!, `sid = '${sid}' AND type = 'session.start'`)) === 1, "this window's session.start was shipped too");
    await waitFor('status caught up', () => ship.status()?.phase === 'caught_up', 10_000);
    hooks.status.update();
    const tip = (hooks.status as unknown as { item: vscode.StatusBarItem }).item.tooltip as vscode.MarkdownString;
    assert.match(tip.value, /shipped up to \d{4}-\d\d-\d\d/);
    assert.match(tip.value, /events? behind/);
    const html = (await vscode.commands.executeCommand<string>('telemetrySink.showStatistics'))!;
    assert.match(html, /ClickHouse http:\/\/127\.0\.0\.1:\d+\/inhost\.events \(caught up\): shipped up to/);
    const port = await freePort();
    await setting('http.port', port);
    await setting('http.enabled', true);
    await waitFor('ingest serving', () => hooks.ingest()?.state === 'serving');
    const metrics = await get(port, '/metrics', hooks.httpToken!() ?? '');
    await setting('http.enabled', undefined);
    await setting('http.port', undefined);
    assert.match(metrics, /telemetry_sink_ship_events_shipped_total\{destination="[^"]+",role="shipping"\} [1-9]\d*/);
    assert.match(metrics, /telemetry_sink_ship_lag_events\{/);
  });

  it('the password lives in SecretStorage: a wrong one shows as the last error, removing it ships again', async function () {
    this.timeout(120_000);
    const { api, hooks } = await ext();
    const ship = (hooks as unknown as { ship: ShipController }).ship;
    assert.equal(await vscode.commands.executeCommand('telemetrySink.ship.setPassword', 'not-the-password'), true);
    const cfg = JSON.stringify(vscode.workspace.getConfiguration('telemetrySink'));
    assert.ok(!cfg.includes('not-the-password'), 'never in settings');
    await waitFor('auth error shown', () => /193|192|516|password/i.test(ship.status()?.lastError?.message ?? ''), 30_000);
    await vscode.commands.executeCommand('telemetrySink.ship.setPassword', '');
    api.record('test.ship.after', {});
    await hooks.runtime.sink?.flush();
    await waitFor('shipping again', async () => (await count(ch!, "type = 'test.ship.after'")) === 1, 30_000);
  });

  it('turned off again: stops shipping and releases the election', async () => {
    const { hooks } = await ext();
    const ship = (hooks as unknown as { ship: ShipController }).ship;
    await setting('ship.clickhouse.url', undefined);
    await waitFor('off', () => ship.role === 'off', 10_000);
    assert.equal(ship.status(), undefined);
  });
});
