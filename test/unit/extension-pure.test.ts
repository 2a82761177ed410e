import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseShipSettings, SHIP_DEFAULTS } from '../../src/core/ship/settings';
import { parseSettings, DEFAULTS } from '../../src/core/settings';
import { FSYNC_POLICIES, IDENTITY_MODES, LOCK_MODES, PATH_MODES } from '../../src/core/lists';
import { BurstCoalescer, countNewlines } from '../../src/core/capture/bursts';
import { scoreChange, ChangeFacts } from '../../src/core/capture/heuristic';
import { Excluder, globToRegExp, presentPath } from '../../src/core/privacy';
import { toAiRecord } from '../../src/core/ingest/aiEvent';
import { fromSeedPayload, normalizeInput, parseInputLine } from '../../src/core/ingest/input';
import { IngestServer } from '../../src/core/ingest/http';
import { freePort } from '../helpers/ports';

test('settings: defaults, valid values, and one warning per bad value with a safe fallback', () => {
  const empty = parseSettings(() => undefined);
  assert.deepEqual(empty.settings, DEFAULTS);
  assert.deepEqual(empty.warnings, []);
  const vals: Record<string, unknown> = { pathMode: 'hashed', 'lock.backend': 'sideways', flushIntervalMs: 10, 'http.port': 9000, exclude: 'not-a-list', 'capture.edits': false };
  const r = parseSettings((k) => vals[k]);
  assert.equal(r.settings.pathMode, 'hashed');
  assert.equal(r.settings.lock.backend, 'auto');
  assert.equal(r.settings.flushIntervalMs, 1000);
  assert.equal(r.settings.http.port, 9000);
  assert.deepEqual(r.settings.exclude, DEFAULTS.exclude);
  assert.equal(r.settings.capture.edits, false);
  assert.equal(r.warnings.length, 3);
  assert.match(r.warnings.join('\n'), /telemetrySink\.lock\.backend: expected one of auto, flock, lockfile/);
});

test('settings: parseSettings and parseShipSettings read exactly the settings package.json contributes, with the same defaults', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } };
  const props = pkg.contributes.configuration.properties;
  const asked: string[] = [];
  parseSettings((k) => (asked.push(k), undefined));
  parseShipSettings((k) => (asked.push(`ship.${k}`), undefined));
  assert.deepEqual(asked.map((k) => `telemetrySink.${k}`).sort(), Object.keys(props).sort());
  const fromPkg = parseSettings((k) => props[`telemetrySink.${k}`]!.default);
  assert.deepEqual(fromPkg.settings, DEFAULTS);
  assert.deepEqual(fromPkg.warnings, []);
  const shipFromPkg = parseShipSettings((k) => props[`telemetrySink.ship.${k}`]!.default);
  assert.deepEqual(shipFromPkg.settings, SHIP_DEFAULTS);
  assert.deepEqual(shipFromPkg.warnings, []);
});

test('lists: every enum package.json contributes is the one list the code uses, and settings take each value', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { enum?: unknown[] }> } } };
  const props = pkg.contributes.configuration.properties;
  const lists: Record<string, readonly string[]> = { pathMode: PATH_MODES, fsync: FSYNC_POLICIES, 'lock.backend': LOCK_MODES, 'ship.identity': IDENTITY_MODES };
  const withEnum = Object.keys(props).filter((k) => props[k]!.enum).map((k) => k.slice('telemetrySink.'.length));
  assert.deepEqual(withEnum.sort(), Object.keys(lists).sort(), 'a new enum in package.json needs its list in src/core/lists.ts');
  for (const [key, list] of Object.entries(lists)) {
    assert.deepEqual(props[`telemetrySink.${key}`]!.enum, [...list], key);
    for (const v of list) {
      // ship.* settings have their own reader (the shipper loads without the rest).
      const ship = key.startsWith('ship.');
      const r = ship ? parseShipSettings((k) => (`ship.${k}` === key ? v : undefined)) : parseSettings((k) => (k === key ? v : undefined));
      assert.deepEqual(r.warnings, [], `${key}: ${v}`);
      const at = ship ? key.slice('ship.'.length) : key;
      assert.equal(at.split('.').reduce((o: unknown, p) => (o as Record<string, unknown>)[p], r.settings), v);
    }
  }
});

test('bursts: edits coalesce per document until quiet; undo/redo counted', () => {
  const c = new BurstCoalescer(1000);
  const d = (inserted: number, undo = false) => [{ inserted, deleted: 0, linesAdded: 0, linesRemoved: 0, undo, redo: false }];
  c.add('a', 'ts', d(1), 0);
  c.add('a', 'ts', d(2), 500);
  c.add('b', 'py', d(5), 600);
  c.add('a', 'ts', d(0, true), 1200);
  assert.deepEqual(c.due(1700, 60_000), [], 'a longer quiet window (the in-host tests\' hook) keeps both open');
  assert.deepEqual(c.due(1700).map((b) => [b.key, b.changes, b.charsInserted, b.undo]), [['b', 1, 5, 0]], 'a is still active at 1700 (last edit 1200)');
  assert.deepEqual(c.due(2200).map((b) => [b.key, b.changes, b.charsInserted, b.undo]), [['a', 3, 3, 1]]);
  assert.equal(c.size, 0);
  assert.equal(countNewlines('a\nb\n'), 2);
});

test('heuristic: multi-line insert right after typing with an AI extension scores as accepted; others do not', () => {
  const base: ChangeFacts = { singleInsert: true, insertedChars: 60, insertedNonWhitespace: 50, insertedLines: 1, replacedChars: 0, undoRedo: false, isPaste: false, msSinceTyping: 400, aiExtensionActive: true };
  const s = scoreChange(base);
  assert.equal(s.accepted, true);
  assert.ok(s.confidence >= 0.6 && s.confidence <= 0.95);
  assert.equal(scoreChange({ ...base, isPaste: true }).accepted, false);
  assert.equal(scoreChange({ ...base, undoRedo: true }).accepted, false);
  assert.equal(scoreChange({ ...base, aiExtensionActive: false }).accepted, false);
  assert.equal(scoreChange({ ...base, insertedChars: 3, insertedNonWhitespace: 3, insertedLines: 0 }).accepted, false);
  assert.equal(scoreChange({ ...base, insertedChars: 5, insertedNonWhitespace: 0, insertedLines: 1 }).accepted, false, 'Enter + auto-indent is not a completion');
  assert.equal(scoreChange({ ...base, singleInsert: false }).accepted, false);
});

test('privacy: path modes, excludes', () => {
  const ctx = { mode: 'relative' as const, roots: ['/ws'] };
  assert.equal(presentPath('/ws/src/a.ts', ctx), 'src/a.ts');
  assert.equal(presentPath('/etc/passwd', ctx), '(outside workspace)/passwd');
  assert.equal(presentPath('/ws/src/a.ts', { ...ctx, mode: 'basename' }), 'a.ts');
  assert.equal(presentPath('/ws/src/a.ts', { ...ctx, mode: 'none' }), undefined);
  assert.match(presentPath('/ws/src/a.ts', { ...ctx, mode: 'hashed', salt: Buffer.alloc(32, 1) })!, /^sha256:[0-9a-f]{16}$/);
  assert.equal(presentPath('/ws/src/a.ts', { ...ctx, mode: 'hashed' }), undefined, 'no salt, no hashed path');
  assert.equal(presentPath('Untitled-1', ctx, 'untitled'), 'untitled');
  const ex = new Excluder(['**/node_modules/**', '**/*.{env,pem}']);
  assert.equal(ex.excluded('/ws/node_modules/x/i.js'), true);
  assert.equal(ex.excluded('/ws/secrets/key.pem'), true);
  assert.equal(ex.excluded('/ws/src/a.ts'), false);
  assert.equal(globToRegExp('src/*.ts').test('src/a.ts'), true);
  assert.equal(globToRegExp('src/*.ts').test('src/x/a.ts'), false);
});

test('AI events and inputs: validation names the field; seed payloads map to ai.completion.*', () => {
  assert.deepEqual(toAiRecord({ kind: 'shown', chars: 3, text: 'x' }, false), { type: 'ai.completion.shown', data: { kind: 'shown', detection: 'reported', chars: 3 } });
  assert.throws(() => toAiRecord({ kind: 'shown', bogus: 1 }, false), /unknown field "bogus"/);
  assert.throws(() => toAiRecord({ kind: 'shown', is_local: 'yes' }, false), /field "is_local"/);
  const seed = fromSeedPayload({ event_type: 'completion_rejected', extension: 'continue', is_local: true, success: false, model: 'm' });
  assert.equal(seed.type, 'ai.completion.rejected');
  assert.equal(seed.data['gen_ai.request.model'], 'm');
  assert.equal(fromSeedPayload({ event_type: 'Model Loaded', extension: 'x' }).type, 'seed.model_loaded');
  assert.throws(() => parseInputLine('{"type":"a.b","data":[]}'), /field "data"/);
  assert.throws(() => normalizeInput({ type: 'a.b', extra: 1 }), /unknown field "extra"/);
  assert.throws(() => parseInputLine('nope'), /not JSON/);
});

test('HTTP ingest: a second server on the port stands by and takes over when the first stops', async () => {
  const got: string[] = [];
  const port = await freePort();
  const token = 'unit-token-0123456789abcdef01234';
  const mk = () => new IngestServer({ port, token, recordBatch: (evs) => evs.map((ev) => (got.push(ev.type), got.length - 1)), retryMs: 100 });
  const a = mk();
  const b = mk();
  assert.equal(await a.start(), 'serving');
  assert.equal(await b.start(), 'standby');
  const post = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
  assert.equal(await post('{"type":"one.event"}'), 202);
  await a.stop();
  for (let i = 0; i < 50 && b.state !== 'serving'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(b.state, 'serving');
  assert.equal(await post('{"type":"two.event"}'), 202);
  await b.stop();
  assert.deepEqual(got, ['one.event', 'two.event']);
});

test('input doors: what JSON.parse would silently change is refused naming the field (duplicate key, unsafe integer, out-of-range number)', () => {
  assert.throws(() => parseInputLine('{"type":"a.b","data":{"a":1,"a":2}}'), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_EVENT' && /duplicate key "a"/.test(e.message));
  assert.throws(() => parseInputLine('{"type":"a.b","data":{"n":9007199254740993}}'), /field "data\.n": integer 9007199254740993/);
  assert.throws(() => parseInputLine('{"type":"a.b","data":{"n":-1e400}}'), /field "n": .*out of range/);
  assert.throws(() => parseInputLine('{"type":"a.b","type":"c.d"}'), /duplicate key "type"/);
  assert.deepEqual(parseInputLine('{"type":"a.b","data":{"n":9007199254740991,"f":1.5e300,"a":{"a":1}}}').data, { n: 9007199254740991, f: 1.5e300, a: { a: 1 } });
});
