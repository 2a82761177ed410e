import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { admit, admitLine, RESERVED_FAMILIES } from '../../src/core/ingest/policy';
import { isContentKey, loadPathSalt, presentPath, SALT_FILE, scrubPaths, statsForEvents } from '../../src/core/privacy';
import { Sink } from '../../src/core/sink/appender';
import { AI_CONTENT, FREE_FORM, SECRET, SEED_PAYLOADS } from '../helpers/content';
import { fromSeedPayload } from '../../src/core/ingest/input';
import { tmpDir } from '../helpers/tmp';

// The door policy (issue #13 items 2, 4, 7) on its own; the doors themselves are tested in the
// stress tier (CLI) and in the extension host (API, command, HTTP).
const off = { captureContent: false };
const tmp = (): string => tmpDir('lts-policy-');

test('policy: no known content field survives, at any depth; metadata does', () => {
  for (const data of FREE_FORM) {
    const a = admit({ type: 'doors.free', data: { ...data, ok: 1, model: 'm', exit_code: 3, prompt_tokens: 9 } }, off);
    const text = JSON.stringify(a.data);
    assert.ok(!text.includes(SECRET), `${JSON.stringify(data).slice(0, 80)} → ${text.slice(0, 200)}`);
    assert.deepEqual([a.data.ok, a.data.model, a.data.exit_code, a.data.prompt_tokens], [1, 'm', 3, 9], 'metadata is kept');
  }
  const ai = admit({ type: 'ai.completion.accepted', data: { kind: 'accepted', 'gen_ai.request.model': 'm', 'gen_ai.usage.output_tokens': 5, latency_ms: 3, is_local: true, ...AI_CONTENT } }, off);
  assert.deepEqual(ai.data, { kind: 'accepted', detection: 'reported', 'gen_ai.request.model': 'm', 'gen_ai.usage.output_tokens': 5, latency_ms: 3, is_local: true });
  assert.deepEqual(ai.removed.sort(), Object.keys(AI_CONTENT).sort());
  for (const p of SEED_PAYLOADS) assert.ok(!JSON.stringify(admit(fromSeedPayload(p), off).data).includes(SECRET));
  assert.deepEqual(admit(fromSeedPayload(SEED_PAYLOADS[0]!), off).data, { kind: 'accepted', detection: 'reported', event_type: 'completion_accepted', extension: 'continue', is_local: true, success: true, 'gen_ai.request.model': 'qwen' });
});

test('policy: captureContent on keeps content; AI fields are still type-checked', () => {
  const on = { captureContent: true };
  assert.equal(admit({ type: 'doors.free', data: { prompt: SECRET } }, on).data.prompt, SECRET);
  assert.equal(admit({ type: 'ai.completion.shown', data: { 'gen_ai.prompt': SECRET } }, on).data['gen_ai.prompt'], SECRET);
  assert.throws(() => admit({ type: 'ai.completion.shown', data: { latency_ms: -1 } }, on), /field "latency_ms"/);
  assert.throws(() => admit({ type: 'ai.completion.maybe', data: {} }, off), /field "type"/);
  assert.throws(() => admit({ type: 'ai.completion.shown', data: { kind: 'accepted' } }, off), /field "kind"/);
});

test('policy: long strings are replaced, long keys dropped, deep nesting refused, __proto__ stays data', () => {
  const a = admit({ type: 'a.b', data: { note: 'y'.repeat(257), short: 'y'.repeat(256), ['k'.repeat(65)]: 1 } }, off);
  assert.equal(a.data.note, '[257 characters not recorded]');
  assert.equal(a.data.short, 'y'.repeat(256));
  assert.equal(Object.keys(a.data).length, 2);
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = { d: deep };
  assert.throws(() => admit({ type: 'a.b', data: deep as Record<string, unknown> }, off), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_EVENT' && /nested deeper/.test(e.message));
  const polluted = admit({ type: 'a.b', data: JSON.parse('{"__proto__":{"polluted":1},"x":{"__proto__":{"y":2}}}') }, off);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(JSON.stringify(polluted.data), '{"__proto__":{"polluted":1},"x":{"__proto__":{"y":2}}}');
  assert.equal(isContentKey('gen_ai.usage.input_tokens'), false);
  assert.equal(isContentKey('gen_ai.tool.call.result'), true);
  assert.equal(isContentKey('statusCode'), false);
  for (const meta of ['prompt_tokens', 'text_length', 'HTTPStatus', 'value', 'values', 'data', 'v2', 'sha256', 'exit_code', 'message_id', 'output_type', 'inputTokens']) {
    assert.equal(isContentKey(meta), false, meta);
  }
});

test('policy: the extension’s own event families are refused from outside', () => {
  for (const fam of RESERVED_FAMILIES) {
    assert.throws(() => admit({ type: `${fam}.anything`, data: {} }, off), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_EVENT' && /reserved/.test(e.message), fam);
  }
  assert.throws(() => admitLine('{"type":"sink.dropped","data":{"from_seq":0,"to_seq":999999999}}', off), /reserved/);
  assert.equal(admit(fromSeedPayload({ event_type: 'session.end' }), off).type, 'seed.session.end', 'seed payloads live under seed.*');
});

test('paths: hashed paths use the per-installation salt on the workspace-relative path', () => {
  const dir = tmp();
  const salt = loadPathSalt(dir);
  assert.equal(salt.length, 32);
  assert.deepEqual(loadPathSalt(dir), salt, 'created once, then read');
  assert.equal((fs.statSync(path.join(dir, SALT_FILE)).mode & 0o777).toString(8), '600');
  const h = presentPath('/ws/src/a.ts', { mode: 'hashed', roots: ['/ws'], salt })!;
  assert.equal(h, 'sha256:' + crypto.createHash('sha256').update(salt).update('src/a.ts').digest('hex').slice(0, 16));
  assert.notEqual(h, 'sha256:' + crypto.createHash('sha256').update('/ws/src/a.ts').digest('hex').slice(0, 16));
  assert.notEqual(presentPath('/ws/src/a.ts', { mode: 'hashed', roots: ['/ws'], salt: loadPathSalt(tmp()) }), h, 'another installation, another hash');
  assert.equal(presentPath('/elsewhere/src/a.ts', { mode: 'hashed', roots: ['/elsewhere'], salt }), h, 'the same relative path in a moved checkout');
});

test('paths: a salt file that is a symlink, not private, or damaged is refused', () => {
  const dir = tmp();
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'a'.repeat(64));
  fs.symlinkSync(target, path.join(dir, SALT_FILE));
  assert.throws(() => loadPathSalt(dir), /ELOOP|symbolic/i);
  fs.unlinkSync(path.join(dir, SALT_FILE));
  fs.writeFileSync(path.join(dir, SALT_FILE), 'a'.repeat(64), { mode: 0o644 });
  fs.chmodSync(path.join(dir, SALT_FILE), 0o644);
  assert.throws(() => loadPathSalt(dir), /not a private file/);
  fs.chmodSync(path.join(dir, SALT_FILE), 0o600);
  fs.writeFileSync(path.join(dir, SALT_FILE), 'short');
  assert.throws(() => loadPathSalt(dir), /damaged/);
});

test('paths: a salt planted by another user is refused', { skip: process.getuid?.() !== 0 && 'needs root to give the file to another user' }, () => {
  const dir = tmp();
  const planted = path.join(dir, SALT_FILE);
  fs.writeFileSync(planted, 'b'.repeat(64) + '\n', { mode: 0o600 });
  fs.chownSync(planted, 65534, 65534);
  assert.throws(() => loadPathSalt(dir), /not a private file of this user/, 'a salt another user knows makes the hashes reversible for them');
});

test('paths: session.end stats and backend reasons carry no absolute path', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const sink = new Sink({ file, flushIntervalMs: 10 });
  await sink.close({ sessionEnd: { reason: 'test' } });
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(!text.includes(dir), text);
  assert.equal((JSON.parse(text.trim().split('\n').pop()!).data.stats as { file: string }).file, 'events.jsonl');
  const reason = 'fs-ext could not load: /home/u/.vscode/extensions/x-1.0/node_modules/fs-ext/build/Release/fs_ext.node: invalid ELF header';
  assert.equal(scrubPaths(reason), 'fs-ext could not load: …/fs_ext.node: invalid ELF header');
  assert.equal(scrubPaths("EACCES: permission denied, open 'C:\\Users\\me\\data\\events.jsonl'"), "EACCES: permission denied, open '…/events.jsonl'");
  assert.equal(scrubPaths('cannot write /my data/x.jsonl: ENOSPC', ['/my data']), 'cannot write …/x.jsonl: ENOSPC');
  assert.equal(scrubPaths('ratio 1/2 and a/b stay'), 'ratio 1/2 and a/b stay');
  const st = statsForEvents({ ...sink.stats(), errors: { total: 1, byCode: {}, last: { code: 'ERR_WRITE', message: `cannot write ${file}: ENOSPC`, at: '' } } });
  assert.ok(!JSON.stringify(st).includes(dir));
});

test('sink: recordAll is all or nothing — an invalid event or a full queue queues none', async () => {
  const dir = tmp();
  const sink = new Sink({ file: path.join(dir, 'events.jsonl'), maxQueueEvents: 100, flushIntervalMs: 60_000 });
  const deep = JSON.parse('{"a":' + '['.repeat(30_000) + ']'.repeat(30_000) + '}');
  assert.throws(() => sink.recordAll([{ type: 'ok.first', data: {} }, { type: 'bad.second', data: deep }]), /event 1: field "data"/);
  assert.throws(() => sink.recordAll([{ type: 'ok.first' }, { type: 'Bad' }]), /event 1: field "type"/);
  assert.equal(sink.queuedEvents, 0);
  assert.equal(sink.recordAll(Array.from({ length: 101 }, () => ({ type: 'too.many' }))), null);
  assert.equal(sink.queuedEvents, 0);
  assert.equal(sink.stats().dropped.total, 0, 'a refused batch is not a drop: the client was told');
  assert.deepEqual(sink.recordAll([{ type: 'a.one' }, { type: 'a.two' }]), [0, 1]);
  await sink.close();
});
