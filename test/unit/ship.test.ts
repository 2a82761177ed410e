/** Unit tests of the shipper's pure parts (no server): retry, errors, rows, cursor, plan, batches. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backoffMs, withRetry } from '../../src/core/ship/retry';
import { ShipError } from '../../src/core/ship/errors';
import { checkDestination, serverError } from '../../src/core/ship/clickhouse';
import { parseRow, rawData, splitTs, toRow } from '../../src/core/ship/rows';
import { buildLine, EnvelopeV1 } from '../../src/core/sink/envelope';
import { newCursor, readCursor, shipPaths, writeCursor, FileEntry } from '../../src/core/ship/cursor';
import { firstKey, reconcile, Present } from '../../src/core/ship/plan';
import { Batcher, SealedBatch } from '../../src/core/ship/batch';
import { emptyStatus, statusLine } from '../../src/core/ship/status';
import { engineProblem, EXAMPLE_QUERIES } from '../../src/core/ship/ddl';
import { parseShipSettings } from '../../src/core/ship/settings';
import { shipToPrometheus } from '../../src/core/sink/metrics';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-shipu-');

test('backoff: capped, exponential, never below half a step', () => {
  const p = { baseMs: 250, maxMs: 30_000 };
  assert.deepEqual([backoffMs(0, p, () => 0), backoffMs(0, p, () => 1)], [125, 250]);
  assert.deepEqual([backoffMs(3, p, () => 0), backoffMs(3, p, () => 1)], [1000, 2000]);
  assert.deepEqual([backoffMs(50, p, () => 0), backoffMs(50, p, () => 1)], [15_000, 30_000]);
});

test('withRetry: retries what can heal, throws what cannot, gives up after giveUpMs, stops on abort', async () => {
  const busy = (): ShipError => Object.assign(new ShipError('ERR_CLICKHOUSE', 'busy'), { retryable: true });
  let n = 0;
  const seen: number[] = [];
  assert.equal(await withRetry(async () => (++n < 4 ? Promise.reject(busy()) : 'ok'), { baseMs: 1, maxMs: 2, giveUpMs: Infinity }, undefined, (_e, a) => seen.push(a)), 'ok');
  assert.deepEqual(seen, [1, 2, 3]);
  await assert.rejects(withRetry(() => Promise.reject(new ShipError('ERR_CLICKHOUSE', 'auth')), { baseMs: 1, maxMs: 2, giveUpMs: Infinity }, undefined, () => assert.fail('no retry')), /auth/);
  await assert.rejects(withRetry(() => Promise.reject(busy()), { baseMs: 5, maxMs: 10, giveUpMs: 50 }, undefined, () => undefined), (e: ShipError) => e.code === 'ERR_GAVE_UP');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(withRetry(() => Promise.reject(busy()), { baseMs: 1000, maxMs: 1000, giveUpMs: Infinity }, ac.signal, () => undefined), (e: ShipError) => e.code === 'ERR_CANCELLED');
});

test("server answers: ClickHouse's code decides retry vs stop", () => {
  const c = (status: number, body: string): [boolean, number | undefined] => {
    const e = serverError(status, body);
    return [e.retryable, e.chCode];
  };
  assert.deepEqual(c(500, 'Code: 252, e.displayText() = DB::Exception: Too many parts'), [true, 252]);
  assert.deepEqual(c(401, 'Code: 193, e.displayText() = DB::Exception: Wrong password for user x'), [false, 193]);
  assert.deepEqual(c(500, 'Code: 27, e.displayText() = DB::Exception: Cannot parse input'), [false, 27]);
  assert.deepEqual(c(404, 'Code: 60, e.displayText() = DB::Exception: Table t.e doesn\'t exist.'), [true, 60]);
  assert.deepEqual(c(503, 'Service Unavailable'), [true, undefined]);
  assert.deepEqual(c(400, 'Bad Request'), [false, undefined]);
  assert.match(serverError(500, 'Code: 252, e.displayText() = DB::Exception: Too many parts, e.what() = DB::Exception\n').message, /Too many parts$/);
});

test('destination: http(s) only, no credentials or query in the URL, plain identifiers', () => {
  const d = { url: 'http://Host:8123/ch/', database: 'telemetry', table: 'events' };
  assert.equal(checkDestination(d).label, 'http://host:8123/ch/telemetry.events');
  for (const [bad, re] of [
    [{ ...d, url: 'http://u:p@h:8123' }, /must not carry a user or password/],
    [{ ...d, url: 'http://h:8123/?database=x' }, /query string/],
    [{ ...d, url: 'ftp://h' }, /http:\/\/ or https:\/\//],
    [{ ...d, url: 'not a url' }, /is not a URL/],
    [{ ...d, table: 'events; DROP TABLE x' }, /plain identifier/],
    [{ ...d, database: '1db' }, /plain identifier/],
  ] as const) assert.throws(() => checkDestination(bad), re);
});

test('rows: AI columns, ts split, the payload as raw JSON (fast path equals the slow one)', () => {
  const data = { kind: 'accepted', detection: 'reported', 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen', latency_ms: 12.5, 'gen_ai.usage.input_tokens': 7, 'gen_ai.usage.output_tokens': 3.5, is_local: false, language_id: 'go', s: 'é"\\' };
  const line = Buffer.from(buildLine('id-1', '2026-11-28T03:13:47.123Z', 'sid-1', 5, '"ai.completion.accepted"', '"cli"', JSON.stringify(data)));
  const env = JSON.parse(line.toString()) as EnvelopeV1;
  assert.equal(rawData(env, line, true), JSON.stringify(data));
  const reordered = Buffer.from(JSON.stringify({ data: env.data, v: 1, id: env.id, ts: env.ts, sid: env.sid, seq: env.seq, type: env.type, source: env.source }));
  assert.equal(rawData(env, reordered, false), JSON.stringify(data), 'other member orders: re-serialized compactly');
  const text = toRow(env, line, true, 'h:x');
  assert.equal(text.split('\t').length, 18, 'one field per column');
  assert.deepEqual(parseRow(text), { sid: 'sid-1', seq: 5, id: 'id-1', ts: 1795835627, ts_ms: 123, type: 'ai.completion.accepted', source: 'cli', origin: 'h:x', language: 'go', ai_provider: 'ollama', ai_model: 'qwen', ai_kind: 'accepted', ai_detection: 'reported', ai_latency_ms: 12.5, ai_input_tokens: 7, ai_output_tokens: null, ai_is_local: 0, data: JSON.stringify(data) });
  const odd = { ...env, sid: 'tab\there', data: { s: 'a\\b\tc' } };
  assert.deepEqual([parseRow(toRow(odd, Buffer.from('{}'), false, '')).sid, parseRow(toRow(odd, Buffer.from('{}'), false, '')).data], ['tab\there', JSON.stringify(odd.data)], 'TSV escaping round-trips');
  assert.deepEqual(splitTs('1969-12-31T23:59:59.999Z'), [0, 999], 'before 1970: clamped to 0 (DateTime range)');
  const plain = parseRow(toRow({ ...env, type: 'window.focus', data: { focused: true } }, Buffer.from('{}'), false, ''));
  assert.deepEqual([plain.ai_model, plain.ai_latency_ms, plain.ai_is_local, plain.data], ['', null, null, '{"focused":true}'], 'non-AI rows: empty GenAI strings, NULL numbers');
});

test('splitTs agrees with Date.parse on 20,000 random timestamps, valid or not', () => {
  let seed = 7;
  const r = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  for (let i = 0; i < 20_000; i++) {
    const ts = `${1960 + r(160)}-${p2(r(14))}-${p2(r(33))}T${p2(r(26))}:${p2(r(62))}:${p2(r(62))}.${String(r(1000)).padStart(3, '0')}Z`;
    const t = Date.parse(ts);
    const s = Math.floor(t / 1000);
    const want = Number.isFinite(t) ? [s >= 0 && s <= 4294967295 ? s : 0, t - s * 1000] : [0, 0];
    assert.deepEqual(splitTs(ts), want, ts);
  }
});

test('cursor: atomic 0600 round trip; corrupt, foreign and symlinked cursors are refused clearly', () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const { cursor: p } = shipPaths(file, 'http://h:1/db.t');
  assert.equal(readCursor(p, file, 'http://h:1/db.t'), undefined);
  const c = newCursor(file, 'http://h:1/db.t');
  c.files.push({ dev: '1', ino: '2', first: 'id:x', name: 'events.jsonl', size: 10, offset: 5, line: 1, live: true });
  writeCursor(p, c);
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
  assert.deepEqual(readCursor(p, file, 'http://h:1/db.t')!.files, c.files);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temp file left');
  assert.throws(() => readCursor(p, file, 'http://other:1/db.t'), (e: ShipError) => e.code === 'ERR_CURSOR_CORRUPT' && /--reset-cursor/.test(e.message));
  for (const bad of ['', '[]', '{"v":2}', JSON.stringify({ ...c, files: [{ ...c.files[0], offset: -1 }] })]) {
    fs.writeFileSync(p, bad);
    assert.throws(() => readCursor(p, file, 'http://h:1/db.t'), (e: ShipError) => e.code === 'ERR_CURSOR_CORRUPT');
  }
  fs.rmSync(p);
  fs.writeFileSync(path.join(dir, 'target'), 'x');
  fs.symlinkSync(path.join(dir, 'target'), p);
  assert.throws(() => readCursor(p, file, 'http://h:1/db.t'), (e: ShipError) => e.code === 'ERR_UNSAFE_PATH');
  writeCursor(p, c); // replaces the link itself, never writes through it
  assert.equal(fs.readFileSync(path.join(dir, 'target'), 'utf8'), 'x');
  assert.equal(fs.lstatSync(p).isSymbolicLink(), false);
});

test('firstKey: the first complete line\'s id, a hash for a damaged one, null while none is complete', () => {
  const dir = tmp();
  const f = path.join(dir, 'f');
  const key = (text: string): string | null => {
    fs.writeFileSync(f, text);
    const fd = fs.openSync(f, 'r');
    try {
      return firstKey(fd, Buffer.byteLength(text));
    } finally {
      fs.closeSync(fd);
    }
  };
  assert.equal(key('{"v":1,"id":"abc","x":1}\n{"id":"zzz"}\n'), 'id:abc');
  assert.match(key('garbage\n')!, /^sha:[0-9a-f]{32}$/);
  assert.equal(key('{"v":1,"id":"abc"'), null);
  assert.equal(key(''), null);
});

function present(name: string, ino: string, first: string | null, size: number, live = false): Present {
  return { snap: { path: name, size, locked: true }, index: 0, dev: '1', ino, first, name, size, live };
}
const entry = (name: string, ino: string, first: string | null, size: number, offset: number, live = false): FileEntry => ({ dev: '1', ino, first, name, size, offset, line: 0, live });

test('reconcile: renamed files keep offsets, new ones start at 0, removed unshipped ones are gaps, rewritten ones ship again', () => {
  const entries = [entry('events.A.jsonl', '10', 'id:a', 100, 100), entry('events.B.jsonl', '11', 'id:b', 100, 40), entry('events.jsonl', '12', 'id:c', 50, 50, true)];
  // B removed by retention (40 of 100 bytes shipped); the live file was rotated (renamed); a new live file.
  const plan = reconcile(entries, [present('events.A.jsonl', '10', 'id:a', 100), present('events.C.jsonl', '12', 'id:c', 80), present('events.jsonl', '13', 'id:d', 5, true)]);
  assert.deepEqual(plan.items.map((i) => [i.present.name, i.entry.offset, i.how]), [['events.A.jsonl', 100, 'known'], ['events.C.jsonl', 50, 'known'], ['events.jsonl', 0, 'new']]);
  assert.deepEqual(plan.gaps.map((g) => [g.name, g.bytes, g.live]), [['events.B.jsonl', 60, false]]);
  // Fully shipped rotated file removed: no gap. The live file removed: a possible gap (it may have grown).
  const p2 = reconcile([entry('events.A.jsonl', '10', 'id:a', 100, 100), entry('events.jsonl', '12', 'id:c', 50, 50, true)], []);
  assert.deepEqual(p2.gaps.map((g) => [g.name, g.bytes, g.live]), [['events.jsonl', 0, true]]);
  // Same name, same first event, new inode (repair): shipped again from 0, not a gap.
  const p3 = reconcile([entry('events.jsonl', '12', 'id:c', 50, 50, true)], [present('events.jsonl', '99', 'id:c', 40, true)]);
  assert.deepEqual([p3.gaps, p3.replaced, p3.items[0]!.how, p3.items[0]!.entry.offset], [[], ['events.jsonl'], 'replaced', 0]);
  // A reused inode with another first line is another file.
  const p4 = reconcile([entry('events.A.jsonl', '10', 'id:a', 100, 100)], [present('events.Z.jsonl', '10', 'id:z', 30)]);
  assert.deepEqual([p4.items[0]!.how, p4.items[0]!.entry.offset], ['new', 0]);
  // An entry made while no line was complete matches its inode whatever the first line became.
  const p5 = reconcile([entry('events.jsonl', '12', null, 7, 0, true)], [present('events.jsonl', '12', 'id:c', 70, true)]);
  assert.deepEqual([p5.items[0]!.how, p5.gaps], ['known', []]);
});

test('batches: bounded by rows, sent in order with one in flight, skips and marks committed after the acknowledgement', async () => {
  const e = entry('f', '1', 'id:a', 0, 0);
  const sent: number[] = [];
  const committed: SealedBatch[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const b = new Batcher({
    send: async (body) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      sent.push(body.toString().split('\n').filter(Boolean).length);
      inFlight--;
    },
    commit: (x) => {
      committed.push(x);
      for (const m of x.marks.values()) m.entry.offset = m.offset;
    },
  }, 3, 1 << 20);
  for (let i = 0; i < 7; i++) b.add(`{"i":${i}}\n`, { entry: e, offset: (i + 1) * 10, line: i + 1 }, 't');
  b.skip('crc_mismatch', { entry: e, offset: 80, line: 8 });
  assert.equal(b.waiting, 2);
  await b.pump();
  await b.flush();
  assert.deepEqual(sent, [3, 3, 1]);
  assert.equal(maxInFlight, 1);
  assert.equal(e.offset, 80);
  assert.deepEqual([...committed[2]!.invalid], [['crc_mismatch', 1]]);
  const failing = new Batcher({ send: () => Promise.reject(new Error('down')), commit: () => assert.fail('never committed') }, 1, 1 << 20);
  failing.add('{}\n', { entry: e, offset: 90, line: 9 }, 't');
  await assert.rejects(failing.flush(), /down/);
});

test('status line, /metrics counters, settings and the Distributed check', () => {
  const s = { ...emptyStatus('http://h:1/db.t', 'shipping'), phase: 'caught_up' as const, shippedUpTo: '2026-11-28T03:13:47.123Z', behindEvents: 12, behindApprox: true, invalidLines: 2, lastError: { code: 'ERR_CLICKHOUSE', message: 'busy', at: '' } };
  assert.equal(statusLine(s), 'ClickHouse http://h:1/db.t (caught up): shipped up to 2026-11-28 03:13:47Z, ≈12 events behind, 2 damaged lines not shipped; last error ERR_CLICKHOUSE: busy');
  assert.match(statusLine({ ...s, role: 'standby' }), /\(standby, another window ships\)/);
  const m = shipToPrometheus(s);
  assert.match(m, /^telemetry_sink_ship_lag_events\{destination="http:\/\/h:1\/db.t",role="shipping"\} 12$/m);
  assert.match(m, /^telemetry_sink_ship_shipped_up_to_seconds\{.*\} 1795835627.123$/m);
  assert.equal(shipToPrometheus(undefined), '');
  assert.deepEqual(parseShipSettings(() => undefined).settings, { url: '', database: 'telemetry', table: 'events', user: 'default', identity: 'hashed' });
  assert.equal(parseShipSettings((k) => (k === 'identity' ? 'everything' : undefined)).warnings.length, 1);
  assert.equal(engineProblem({ engine: 'Distributed', sorting_key: '', engine_full: "Distributed(c, db, t_local, rand())" })!.includes('sharding key on sid'), true);
  assert.equal(engineProblem({ engine: 'Distributed', sorting_key: '', engine_full: 'Distributed(c, db, t_local, cityHash64(sid))' }), undefined);
  assert.match(engineProblem({ engine: 'ReplacingMergeTree', sorting_key: 'ts, sid', engine_full: '' })!, /ordered by \(ts, sid\)/);
});

test('README carries the example queries exactly as the ship tests run them', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  for (const [name, sql] of Object.entries(EXAMPLE_QUERIES)) assert.ok(readme.includes(sql.replace('{t}', 'telemetry.events')), `README lacks the ${name} query`);
});
