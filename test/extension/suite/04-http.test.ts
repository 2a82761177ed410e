import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { ext, mine, setting, waitFor } from './helpers';

// A port the OS says is free (fixed ports collide when two test runs share a machine).
let PORT = 0;
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
function post(pathname: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { code: string }; accepted?: number; seq?: number[] } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: PORT, method: 'POST', path: pathname, headers: { 'content-type': 'application/json', host: `127.0.0.1:${PORT}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text || '{}') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('loopback HTTP ingest', () => {
  before(async () => {
    PORT = await freePort();
    await setting('http.port', PORT);
    await setting('http.enabled', true);
    const { hooks } = await ext();
    await waitFor('ingest serving', () => hooks.ingest()?.state === 'serving');
  });
  after(async () => {
    await setting('http.enabled', undefined);
    await setting('http.port', undefined);
    await setting('http.token', undefined);
  });

  it("accepts the seed's payload and envelope-lite events", async () => {
    const r = await post('/telemetry/vscode/event', JSON.stringify({ event_type: 'completion_accepted', extension: 'continue', is_local: true, success: true, model: 'qwen' }));
    assert.equal(r.status, 202);
    const r2 = await post('/v1/events', JSON.stringify([{ type: 'pipeline.step', data: { ok: 1 } }, { type: 'pipeline.step', data: { ok: 2 } }]));
    assert.equal(r2.status, 202);
    assert.equal(r2.json.accepted, 2);
    const ls = await mine();
    const seed = ls.find((l) => l.seq === r.json.seq![0])!;
    assert.equal(seed.type, 'ai.completion.accepted');
    assert.equal(seed.source, 'http');
    assert.equal(seed.data['gen_ai.request.model'], 'qwen');
  });

  it('rejects what it must, with clear JSON errors', async () => {
    assert.equal((await post('/v1/events', '{"type":"a.b"}', { host: `evil.example:${PORT}` })).status, 421);
    assert.equal((await post('/v1/events', '{"type":"a.b"}', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post('/v1/events', '{"type":"a.b"}', { origin: 'http://evil.example' })).status, 403);
    assert.equal((await post('/v1/events', JSON.stringify({ type: 'a.b', data: { pad: 'x'.repeat(70_000) } }))).status, 413);
    const bad = await post('/v1/events', '{"type":"Bad"}');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error!.code, 'invalid_event');
    assert.equal((await post('/nope', '{}')).status, 404);
  });

  it('GET /metrics serves the sink stats in Prometheus text format', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: PORT, path: '/metrics', headers: { host: `127.0.0.1:${PORT}` } }, (res) => {
        let t = '';
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve(t));
      }).on('error', reject);
    });
    assert.match(text, /# TYPE telemetry_sink_lock_wait_seconds gauge/);
    assert.match(text, /telemetry_sink_events_written_total\{backend="(flock|lockfile)"(,provider="[\w-]+")?,sid="[^"]+"\} \d+/);
    const want = process.env.LTS_EXPECT_LOCK_PROVIDER;
    if (want) assert.match(text, new RegExp(`telemetry_sink_lock_info\\{backend="flock",provider="${want}",sid="[^"]+",reason="flock via ${want}: [^"]+"\\} 1`));
  });

  it('a bearer token, once set, is required', async () => {
    await setting('http.token', 's3cret');
    const { hooks } = await ext();
    await waitFor('ingest restarted', () => hooks.ingest()?.state === 'serving');
    assert.equal((await post('/v1/events', '{"type":"a.b"}')).status, 401);
    assert.equal((await post('/v1/events', '{"type":"a.b"}', { authorization: 'Bearer s3cret' })).status, 202);
  });
});
