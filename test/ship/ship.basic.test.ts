/**
 * Ship tier: `telemetry-sink ship` against a real ClickHouse 18.16 (started here on a free port).
 * Columns, the README's example queries run verbatim, odd payloads, the DDL, and the server's refusals.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clickHouseForFile } from '../helpers/clickhouseFile';
import { tmpDir } from '../helpers/tmp';
import { realistic, shipCli, writeEvents } from '../helpers/shipfix';
import { EXAMPLE_QUERIES } from '../../src/core/ship/ddl';

const { skip, ch } = clickHouseForFile();

interface Env {
  sid: string;
  seq: number;
  ts: string;
  type: string;
  data: Record<string, unknown>;
}
const readSet = (file: string): Env[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Env);
const q = (name: string, t: string): string => EXAMPLE_QUERIES[name]!.replace('{t}', t);

test('ships every event once, with the columns the README names', { skip, timeout: 120_000 }, async () => {
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  await writeEvents(file, realistic(3000));
  const r = await shipCli(['--url', ch.url, '--file', file, '--database', 'basic', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { shipped: number; caughtUp: boolean; invalid: number };
  const evs = readSet(file);
  assert.equal(res.shipped, evs.length);
  assert.equal(res.caughtUp, true);
  assert.equal(await ch.scalar('SELECT count() FROM basic.events FINAL'), evs.length);
  assert.equal(await ch.scalar('SELECT count() FROM basic.events'), evs.length, 'one run sends nothing twice');
  const one = evs.find((e) => e.type === 'ai.completion.accepted')!;
  const [row] = await ch.rows<Record<string, unknown>>(`SELECT *, toString(ts) AS ts_text FROM basic.events WHERE sid = '${one.sid}' AND seq = ${one.seq}`);
  assert.ok(row);
  assert.equal(`${String(row.ts_text).replace(' ', 'T')}.${String(row.ts_ms).padStart(3, '0')}Z`, one.ts, 'ts (UTC) + ts_ms give the event time back');
  assert.deepEqual(JSON.parse(row.data as string), one.data, 'data is the payload as raw JSON');
  assert.equal(row.ai_model, one.data['gen_ai.request.model']);
  assert.equal(row.ai_provider, one.data['gen_ai.provider.name']);
  assert.equal(row.ai_kind, 'accepted');
  assert.equal(row.ai_detection, one.data.detection);
  assert.equal(row.ai_latency_ms, one.data.latency_ms);
  assert.equal(Number(row.ai_output_tokens), one.data['gen_ai.usage.output_tokens']);
  assert.equal(row.ai_is_local, one.data.is_local ? 1 : 0);
  assert.equal(row.language, one.data.language_id);
  assert.match(String(row.origin), /^h:[0-9a-f]{16}$/, 'origin is a salted hash by default');
  const plain = evs.find((e) => e.type === 'window.focus')!;
  const [p] = await ch.rows<Record<string, unknown>>(`SELECT ai_model, ai_latency_ms, language FROM basic.events WHERE sid = '${plain.sid}' AND seq = ${plain.seq}`);
  assert.deepEqual(p, { ai_model: '', ai_latency_ms: null, language: '' }, 'non-AI events leave the GenAI columns empty/NULL');
});

test("the README's example queries run as plain SQL and agree with the file", { skip, timeout: 120_000 }, async () => {
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  await writeEvents(file, realistic(2000, 3));
  assert.equal((await shipCli(['--url', ch.url, '--file', file, '--database', 'queries']).done).code, 0);
  const evs = readSet(file);
  const ai = evs.filter((e) => e.type.startsWith('ai.completion.'));

  const byModel = new Map<string, { shown: number; accepted: number; rejected: number }>();
  for (const e of ai.filter((x) => x.data.detection === 'reported')) {
    const m = byModel.get(e.data['gen_ai.request.model'] as string) ?? { shown: 0, accepted: 0, rejected: 0 };
    const k = e.data.kind as string;
    if (k === 'shown') m.shown++;
    if (k === 'accepted' || k === 'partially_accepted') m.accepted++;
    if (k === 'rejected') m.rejected++;
    byModel.set(e.data['gen_ai.request.model'] as string, m);
  }
  const rows = await ch.rows<{ ai_model: string; shown: string; accepted: string; rejected: string; acceptance_rate: number }>(q('acceptanceByModel', 'queries.events'));
  assert.equal(rows.length, byModel.size);
  for (const r of rows) {
    const m = byModel.get(r.ai_model)!;
    assert.deepEqual([Number(r.shown), Number(r.accepted), Number(r.rejected)], [m.shown, m.accepted, m.rejected], r.ai_model);
    assert.equal(r.acceptance_rate, m.shown ? Math.round((m.accepted / m.shown) * 1000) / 1000 : null);
  }

  const exact = (xs: number[], level: number): number => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(level * xs.length))]!;
  const lat = await ch.rows<{ locality: string; events: string; p50_ms: number; p95_ms: number }>(q('latencyLocalVsRemote', 'queries.events'));
  for (const r of lat) {
    const xs = ai.filter((e) => (e.data.is_local === true) === (r.locality === 'local')).map((e) => e.data.latency_ms as number);
    assert.equal(Number(r.events), xs.length, r.locality);
    assert.equal(r.p50_ms, exact(xs, 0.5));
    assert.equal(r.p95_ms, exact(xs, 0.95));
  }
  assert.deepEqual(lat.map((r) => r.locality), ['local', 'remote']);

  const perDay = new Map<string, number>();
  for (const e of evs) if (typeof e.data.language_id === 'string') perDay.set(`${e.ts.slice(0, 10)} ${e.data.language_id}`, (perDay.get(`${e.ts.slice(0, 10)} ${e.data.language_id}`) ?? 0) + 1);
  const days = await ch.rows<{ day: string; language: string; events: string }>(q('eventsPerLanguagePerDay', 'queries.events'));
  assert.deepEqual(new Map(days.map((d) => [`${d.day} ${d.language}`, Number(d.events)])), perDay);
});

test('odd payloads (quotes, backslashes, control characters, emoji, lone surrogates) arrive intact', { skip, timeout: 60_000 }, async () => {
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  const odd = ['"quoted" \\ back\\slash', 'tab\tnew\nline\u0001', '😀 ünïcødé 中文', 'lone \ud800 surrogate', '</script><b>', ''];
  await writeEvents(file, odd.map((s, i) => ({ type: 'test.odd', data: { s, i, nested: { s, arr: [s, 1, null, true] } } })));
  assert.equal((await shipCli(['--url', ch.url, '--file', file, '--database', 'odd']).done).code, 0);
  const rows = await ch.rows<{ data: string; s: string }>("SELECT data, visitParamExtractString(data, 's') AS s FROM odd.events FINAL WHERE type = 'test.odd' ORDER BY seq");
  const evs = readSet(file).filter((e) => e.type === 'test.odd');
  assert.equal(rows.length, odd.length);
  rows.forEach((r, i) => {
    assert.deepEqual(JSON.parse(r.data), evs[i]!.data);
    assert.equal(r.data, JSON.stringify(evs[i]!.data), 'compact raw JSON');
  });
  assert.equal(rows[2]!.s, odd[2], 'visitParamExtractString reads the raw JSON string column');
});

test('--print-ddl prints the single-node DDL (which runs here) and the cluster variant', { skip, timeout: 60_000 }, async () => {
  const r = await shipCli(['--print-ddl', '--database', 'ddl', '--table', 'ev', '--cluster', 'team']).done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ENGINE = ReplacingMergeTree\(\)\nPARTITION BY toYYYYMM\(ts\)\nORDER BY \(sid, seq\)/);
  assert.match(r.stdout, /ON CLUSTER team/);
  assert.match(r.stdout, /ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/\{shard\}\/ddl\/ev_local', '\{replica\}'\)/);
  assert.match(r.stdout, /ENGINE = Distributed\(team, ddl, ev_local, cityHash64\(sid\)\)/);
  const single = r.stdout.split('-- Cluster')[0]!;
  for (const stmt of single.split(';').map((s) => s.replace(/^--.*$/gm, '').trim()).filter(Boolean)) await ch.query(stmt);
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  await writeEvents(file, realistic(10));
  const s = await shipCli(['--url', ch.url, '--file', file, '--database', 'ddl', '--table', 'ev']).done;
  assert.equal(s.code, 0, `the shipper accepts the table the printed DDL made: ${s.stderr}`);
  assert.equal((await shipCli(['--print-ddl', '--cluster', 'bad-name']).done).code, 2);
});

test('a table that cannot hold events once (plain MergeTree) is refused before anything is sent', { skip, timeout: 60_000 }, async () => {
  await ch.query('CREATE DATABASE IF NOT EXISTS wrong');
  await ch.query('CREATE TABLE wrong.events (sid String, seq UInt64) ENGINE = MergeTree() ORDER BY (sid, seq)');
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  await writeEvents(file, realistic(10));
  const r = await shipCli(['--url', ch.url, '--file', file, '--database', 'wrong']).done;
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ERR_SCHEMA/);
  assert.match(r.stderr, /engine MergeTree: re-sent events would count twice/);
  assert.equal(await ch.scalar('SELECT count() FROM wrong.events'), 0);
});

test('credentials come from the environment; a wrong password fails at once (no retry loop), exit 1', { skip, timeout: 60_000 }, async () => {
  const file = path.join(tmpDir('lts-ship-'), 'events.jsonl');
  await writeEvents(file, realistic(20));
  const t0 = Date.now();
  const bad = await shipCli(['--url', ch.url, '--file', file, '--database', 'auth'], { TELEMETRY_SINK_CLICKHOUSE_USER: 'shipper', TELEMETRY_SINK_CLICKHOUSE_PASSWORD: 'wrong' }).done;
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /Code 193|Wrong password/);
  assert.ok(Date.now() - t0 < 20_000, 'a permanent refusal is not retried for minutes');
  const good = await shipCli(['--url', ch.url, '--file', file, '--database', 'auth'], { TELEMETRY_SINK_CLICKHOUSE_USER: 'shipper', TELEMETRY_SINK_CLICKHOUSE_PASSWORD: 's3cret-pw' }).done;
  assert.equal(good.code, 0, good.stderr);
  assert.equal(await ch.scalar('SELECT count() FROM auth.events FINAL'), 20);
  const inUrl = await shipCli(['--url', ch.url.replace('//', '//shipper:s3cret-pw@'), '--file', file]).done;
  assert.equal(inUrl.code, 2, 'a password in the URL is refused');
  assert.match(inUrl.stderr, /must not carry a user or password/);
});
