import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { ext, mine, post as postTo, Posted, serveHttp, setting, waitFor } from './helpers';

let PORT = 0;
let AUTH: Record<string, string> = {};
const post = (pathname: string, body: string, headers: Record<string, string> = {}): Promise<Posted> => postTo(PORT, pathname, body, { ...AUTH, ...headers });

describe('loopback HTTP ingest', () => {
  before(async () => {
    PORT = await serveHttp();
    const { hooks } = await ext();
    AUTH = { authorization: `Bearer ${hooks.httpToken!()}` };
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
      http.get({ host: '127.0.0.1', port: PORT, path: '/metrics', headers: { host: `127.0.0.1:${PORT}`, ...AUTH } }, (res) => {
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

  it('a fixed token from the settings replaces the generated one; a short one stops the server', async () => {
    const fixed = 'a-fixed-token-for-scripts-0123456789';
    await setting('http.token', fixed);
    const { hooks } = await ext();
    await waitFor('ingest serving', () => hooks.ingest()?.state === 'serving');
    assert.equal((await post('/v1/events', '{"type":"a.b"}')).status, 401);
    assert.equal((await post('/v1/events', '{"type":"a.b"}', { authorization: `Bearer ${fixed}` })).status, 202);
    await setting('http.token', 's3cret');
    await waitFor('ingest stopped', () => hooks.ingest() === undefined);
    hooks.status.update();
    assert.match(hooks.status.problems.join('\n'), /HTTP ingest not started: telemetrySink\.http\.token is shorter than 16 characters/);
    await setting('http.token', undefined);
    await waitFor('ingest serving again', () => hooks.ingest()?.state === 'serving');
    assert.equal((await post('/v1/events', '{"type":"a.b"}')).status, 202, 'the generated token applies again');
  });
});
