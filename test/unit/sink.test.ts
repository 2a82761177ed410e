import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Sink } from '../../src/core/sink/appender';
import { buildLine, checkLineCrc, isoNow } from '../../src/core/sink/envelope';
import { crc32, crc32Table } from '../../src/core/sink/crc32';
import { Histogram } from '../../src/core/sink/histogram';
import { applyRetention, listRotated, rotatedName } from '../../src/core/sink/rotation';
import { defaultEventsFile } from '../../src/core/sink/paths';
import { LockfileBackend, markerPath } from '../../src/core/sink/locks';
import { SinkError } from '../../src/core/sink/errors';
import { toPrometheus } from '../../src/core/sink/metrics';
import { analyze, seqReport } from '../helpers/analyze';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-unit-');

test('crc32: native and table implementations agree, including non-ASCII', () => {
  for (const s of ['', 'a', '{"v":1}', 'héllo ✓ 𝄞', 'x'.repeat(1000)]) {
    assert.equal(crc32(s), crc32Table(s));
    assert.equal(crc32(Buffer.from(s)), crc32Table(Buffer.from(s)));
  }
  assert.equal(crc32Table('123456789'), 0xcbf43926); // the standard check value
});

test('envelope: members in order, crc over the line without the crc member, newline-terminated', () => {
  const line = buildLine('id-1', '2026-11-28T03:13:47.123Z', 'sid-1', 7, '"editor.save"', '"vscode"', '{"k":"ü"}');
  assert.ok(line.endsWith('"}\n'));
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(obj), ['v', 'id', 'ts', 'sid', 'seq', 'type', 'source', 'data', 'crc']);
  const body = line.slice(0, line.indexOf(',"crc"')) + '}';
  assert.equal(obj.crc, crc32Table(body).toString(16).padStart(8, '0'));
  assert.equal(checkLineCrc(Buffer.from(line.slice(0, -1))), true);
  const damaged = Buffer.from(line.slice(0, -1).replace('"k"', '"K"'));
  assert.equal(checkLineCrc(damaged), false);
  assert.equal(checkLineCrc(Buffer.from('{"v":1}')), undefined);
  assert.match(isoNow(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('envelope: the appender writes each line exactly as buildLine builds it (one format), the drop notice too', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, maxQueueEvents: 2, source: 'api:some.ext' });
  sink.record('unit.a', { s: 'héllo ✓ 𝄞', n: [1, { x: null }] });
  sink.record('unit.b', {}, 'http');
  sink.record('unit.c', { dropped: true }); // over the bound: its seq goes to a sink.dropped notice
  await sink.flush();
  sink.record('unit.d', { after: 1 });
  await sink.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { type: string }).type), ['unit.a', 'unit.b', 'sink.dropped', 'unit.d']);
  for (const line of lines) {
    const o = JSON.parse(line) as { id: string; ts: string; sid: string; seq: number; type: string; source: string; data: unknown };
    assert.match(o.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a uuid v4');
    assert.equal(line + '\n', buildLine(o.id, o.ts, o.sid, o.seq, JSON.stringify(o.type), JSON.stringify(o.source), JSON.stringify(o.data)), o.type);
  }
});

test('sink: the drop notice is written even when it is longer than the event line cap (maxEventBytes)', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, maxQueueEvents: 2, maxEventBytes: 250 });
  for (let i = 0; i < 4; i++) sink.record('unit.small', { i });
  const res = await sink.flush();
  assert.equal(res.error, undefined);
  assert.equal(sink.record('unit.after', {}), 5, 'record() does not throw for the notice it queues');
  await sink.close();
  const a = analyze([file]);
  const notice = a.valid.find((v) => v.type === 'sink.dropped')!;
  assert.ok(Buffer.byteLength(fs.readFileSync(file, 'utf8').split('\n').find((l) => l.includes('sink.dropped'))!) > 250, 'the notice is over the events\' cap');
  assert.deepEqual([notice.data.from_seq, notice.data.to_seq], [2, 3]);
  assert.deepEqual(seqReport(a.bySid.get(sink.sid)!).missing, [2, 3]);
});

test('histogram: quantiles within a bucket of the truth', () => {
  const h = new Histogram();
  for (let i = 1; i <= 1000; i++) h.record(i);
  assert.equal(h.count, 1000);
  const p50 = h.quantile(0.5);
  const p99 = h.quantile(0.99);
  assert.ok(p50 >= 500 && p50 <= 500 * 1.13, `p50 ${p50}`);
  assert.ok(p99 >= 990 && p99 <= 1000, `p99 ${p99}`);
  assert.equal(h.max, 1000);
});

test('default file: $TELEMETRY_SINK_FILE, else the platform data folder', () => {
  assert.equal(defaultEventsFile({ TELEMETRY_SINK_FILE: '/x/y.jsonl' }, 'linux', '/home/u'), '/x/y.jsonl');
  assert.equal(defaultEventsFile({}, 'linux', '/home/u'), '/home/u/.local/share/telemetry-sink/events.jsonl');
  assert.equal(defaultEventsFile({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u'), '/data/telemetry-sink/events.jsonl');
  assert.equal(defaultEventsFile({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/telemetry-sink/events.jsonl');
  assert.equal(defaultEventsFile({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U'), path.join('C:\\L', 'telemetry-sink', 'events.jsonl'));
});

test('rotation names sort in write order; retention keeps maxFiles newest and drops old ones', () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const names: string[] = [];
  for (let i = 0; i < 5; i++) {
    const n = rotatedName(file, new Date(Date.UTC(2026, 10, 28, 0, 0, i)));
    fs.writeFileSync(n, `${i}\n`);
    names.push(n);
  }
  fs.writeFileSync(path.join(dir, 'events.quarantine-20261128T000000000Z.jsonl'), 'q\n');
  assert.deepEqual(listRotated(file).map((r) => r.path), names);
  const removed = applyRetention(file, { maxFiles: 2, maxAgeDays: 0 });
  assert.deepEqual(removed.sort(), names.slice(0, 3).sort());
  assert.deepEqual(listRotated(file).map((r) => r.path), names.slice(3));
  const old = new Date(Date.now() - 3 * 86_400_000);
  fs.utimesSync(names[3]!, old, old);
  assert.deepEqual(applyRetention(file, { maxFiles: 0, maxAgeDays: 2 }), [names[3]]);
});

test('sink: writes 0600 files in a 0700 folder; seq rises by one; close flushes', async () => {
  const dir = path.join(tmp(), 'nested');
  const file = path.join(dir, 'e.jsonl');
  const sink = new Sink({ file, source: 'cli' });
  for (let i = 0; i < 100; i++) assert.equal(sink.record('unit.event', { i }), i);
  const res = await sink.close();
  assert.equal(res.pending, 0);
  assert.equal(res.error, undefined);
  assert.equal((fs.statSync(dir).mode & 0o777).toString(8), '700');
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  const a = analyze([file]);
  assert.deepEqual(seqReport(a.bySid.get(sink.sid)!).missing, []);
  assert.equal(a.valid.length, 100);
  assert.equal(a.crcBad, 0);
  assert.equal(sink.record('after.close', {}), -1, 'records after close are refused, not thrown');
});

test('sink: bad input throws ERR_INVALID_EVENT naming the field, without using a seq', () => {
  const sink = new Sink({ file: path.join(tmp(), 'e.jsonl') });
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return `${(e as SinkError).code}: ${(e as Error).message}`;
    }
    return undefined;
  };
  assert.match(code(() => sink.record('Bad Type', {}))!, /ERR_INVALID_EVENT: field "type"/);
  assert.match(code(() => sink.record('a.b', [1]))!, /ERR_INVALID_EVENT: field "data"/);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.match(code(() => sink.record('a.b', circular))!, /field "data": not serializable/);
  assert.match(code(() => sink.record('a.b', { big: 1n }))!, /field "data"/);
  assert.match(code(() => sink.record('a.b', {}, 'nope'))!, /field "source"/);
  assert.equal(sink.record('a.b', {}), 0);
  sink.closeSync();
});

test('sink: record(..., at) writes the given time (events held until the sink was made); a bad time names "ts"', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file });
  const at = Date.UTC(2026, 10, 29, 1, 2, 3, 456);
  assert.equal(sink.record('held.event', { i: 0 }, undefined, at), 0);
  for (const bad of [-1, 1.5, NaN, 253402300800000, Number.MAX_SAFE_INTEGER + 2]) {
    assert.throws(() => sink.record('held.event', {}, undefined, bad), (e: SinkError) => e.code === 'ERR_INVALID_EVENT' && /field "ts"/.test(e.message), String(bad));
  }
  assert.equal(sink.record('now.event', {}), 1, 'the bad ones used no seq');
  await sink.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ts: string; type: string });
  assert.equal(lines[0]!.ts, '2026-11-29T01:02:03.456Z');
  assert.ok(lines[1]!.ts > lines[0]!.ts);
});

test('sink: torn tail fence isolates a crashed writer fragment, and is counted', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  fs.writeFileSync(file, '{"v":1,"id":"half-writ');
  const sink = new Sink({ file });
  sink.record('after.crash', {});
  const res = await sink.flush();
  assert.equal(res.written, 1);
  assert.equal(sink.stats().tornTailsFenced, 1);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], '{"v":1,"id":"half-writ');
  assert.equal((JSON.parse(lines[1]!) as { type: string }).type, 'after.crash');
  sink.record('again', {});
  await sink.flush();
  assert.equal(sink.stats().tornTailsFenced, 1, 'a clean tail is not fenced again');
  await sink.close();
});

test('sink: short writes are looped under the lock; the file stays line-clean', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  let calls = 0;
  const sink = new Sink({ file, writeImpl: (fd, buf, off, len) => (calls++, fs.writeSync(fd, buf, off, Math.min(len, 7))) });
  for (let i = 0; i < 50; i++) sink.record('short.write', { i, s: 'é'.repeat(i) });
  const res = await sink.close();
  assert.equal(res.pending, 0);
  assert.ok(calls > 100, `${calls} write calls`);
  const a = analyze([file]);
  assert.deepEqual(a.invalid, []);
  assert.equal(a.valid.length, 50);
});

test('sink: a write that fails midway is rolled back and retried later: no corrupt line, nothing lost', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  let failNext = 2; // the 3rd write() call fails with ENOSPC after two partial writes
  const sink = new Sink({
    file,
    flushIntervalMs: 10,
    writeImpl: (fd, buf, off, len) => {
      if (failNext-- === 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return fs.writeSync(fd, buf, off, Math.min(len, 100));
    },
  });
  const faults: string[] = [];
  sink.onFault((e) => faults.push(`${e.code}/${e.sysCode}`));
  for (let i = 0; i < 20; i++) sink.record('fault.write', { i });
  const first = await sink.flush();
  assert.equal(first.error?.code, 'ERR_WRITE');
  assert.equal(first.error?.sysCode, 'ENOSPC');
  assert.equal(fs.statSync(file).size, 0, 'partial batch cut off');
  assert.equal(sink.stats().writeRollbacks, 1);
  const res = await sink.close();
  assert.equal(res.pending, 0);
  assert.deepEqual(faults, ['ERR_WRITE/ENOSPC']);
  const a = analyze([file]);
  assert.deepEqual(a.invalid, []);
  assert.equal(a.valid.length, 20);
});

test('sink: fsync EIO fails that batch loudly and is never retried into a false success', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  let fsyncs = 0;
  const sink = new Sink({
    file,
    fsync: 'batch',
    fsyncImpl: () => {
      if (fsyncs++ === 0) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    },
  });
  sink.record('a.b', { n: 1 });
  const r1 = await sink.flush();
  assert.equal(r1.error?.code, 'ERR_FSYNC');
  assert.equal(sink.stats().fsyncFailures, 1);
  assert.equal(sink.stats().unsyncedEvents, 1);
  sink.record('a.b', { n: 2 });
  const r2 = await sink.flush();
  assert.equal(r2.error, undefined);
  await sink.close();
  assert.equal(analyze([file]).valid.length, 2, 'the batch was not written twice');
});

test('sink: bounded queue drops newest, then writes a sink.dropped event naming the seq range', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, maxQueueEvents: 10 });
  const seqs: number[] = [];
  for (let i = 0; i < 25; i++) seqs.push(sink.record('burst', { i }));
  assert.equal(seqs.filter((s) => s === -1).length, 15);
  await sink.flush();
  sink.record('later', {});
  await sink.close();
  const a = analyze([file]);
  const dropped = a.valid.find((v) => v.type === 'sink.dropped')!;
  assert.deepEqual({ from: dropped.data.from_seq, to: dropped.data.to_seq, count: dropped.data.count }, { from: 10, to: 24, count: 15 });
  assert.deepEqual(dropped.data.reasons, { queue_full_events: 15 });
  const present = a.bySid.get(sink.sid)!;
  assert.deepEqual(present, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 25, 26], 'file order = seq order, gap 10..24 accounted');
  const st = sink.stats();
  assert.equal(st.dropped.total, 15);
  assert.equal(st.accepted, 12);
});

test('sink: when the file is renamed or deleted under it, the next batch reopens the path', async () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  const sink = new Sink({ file });
  sink.record('one', {});
  await sink.flush();
  fs.renameSync(file, path.join(dir, 'moved.jsonl'));
  sink.record('two', {});
  await sink.flush();
  fs.unlinkSync(file);
  sink.record('three', {});
  await sink.close();
  assert.equal(sink.stats().reopens, 2);
  assert.deepEqual(analyze([file]).valid.map((v) => v.type), ['three']);
  assert.deepEqual(analyze([path.join(dir, 'moved.jsonl')]).valid.map((v) => v.type), ['one']);
});

test('sink: size rotation keeps every file under maxBytes; rotateNow rotates on demand', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, rotation: { maxBytes: 4096, maxFiles: 0 }, maxBatchBytes: 1 << 20 });
  for (let i = 0; i < 200; i++) sink.record('rot', { i, pad: 'p'.repeat(100) });
  await sink.flush();
  const rotated = listRotated(file);
  assert.ok(rotated.length >= 5);
  for (const r of rotated) assert.ok(r.size <= 4096 && r.size > 3000, `${r.size}`);
  const before = rotated.length;
  const rn = await sink.rotateNow();
  assert.equal(rn.rotated, true);
  assert.equal(listRotated(file).length, before + 1);
  assert.equal(fs.statSync(file).size, 0);
  await sink.close();
  const a = analyze([...listRotated(file).map((r) => r.path), file]);
  assert.equal(seqReport(a.bySid.get(sink.sid)!).count, 200);
});

test('lockfile: mutual exclusion, stale break by rename, and a compromised holder finds out', () => {
  const dir = tmp();
  const lp = path.join(dir, 'e.jsonl.lock');
  const a = new LockfileBackend(lp, { staleMs: 60_000, announce: false });
  const b = new LockfileBackend(lp, { staleMs: 60_000, announce: false });
  assert.equal(a.tryLock(), true);
  assert.equal(b.tryLock(), false, 'held by a live holder');
  // Make a's lock look ancient: b breaks it.
  const old = new Date(Date.now() - 120_000);
  fs.utimesSync(lp, old, old);
  assert.equal(b.tryLock(), false, 'the break itself does not take the lock');
  assert.equal(b.counters.staleBroken, 1);
  assert.equal(b.tryLock(), true);
  assert.throws(() => a.unlock(), /ERR_LOCK_COMPROMISED|taken from this process/);
  b.unlock();
  assert.equal(fs.existsSync(lp), false);
  assert.deepEqual(fs.readdirSync(dir), [], 'no stale leftovers');
});

test('lockfile: two breakers of one dead holder never both hold (the slot refilled meanwhile is put back)', () => {
  const dir = tmp();
  const lp = path.join(dir, 'e.jsonl.lock');
  // A dead holder's lock: a pid that cannot exist.
  fs.writeFileSync(lp, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), token: 'dead', ts: Date.now() }));
  const b = new LockfileBackend(lp, { announce: false });
  // C judges the dead lock stale; before C renames it, B breaks it and takes the lock (its new file
  // may well reuse the freed inode, which is what made an inode-only check unsafe).
  const c = new LockfileBackend(lp, {
    announce: false,
    beforeBreak: () => {
      assert.equal(b.tryLock(), false, 'B breaks the stale lock');
      assert.equal(b.tryLock(), true, 'B then takes it');
    },
  });
  assert.equal(c.tryLock(), false, 'C must not take the lock B holds');
  assert.equal(b.stillHeld(), true, "B's lock was put back");
  assert.equal(c.tryLock(), false, 'still B');
  b.unlock();
  assert.equal(c.tryLock(), true);
  c.unlock();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('mixed backends: every lockfile writer waits out the grace of a freshly revived marker, not only the reviver', () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  const l1 = new LockfileBackend(file + '.lock');
  const l2 = new LockfileBackend(file + '.lock');
  assert.equal(l1.tryLock(), false, 'l1 revived the marker and waits');
  assert.equal(l2.tryLock(), false, 'l2 sees a marker fresh for less than the grace and waits too');
  const since = (JSON.parse(fs.readFileSync(markerPath(file), 'utf8')) as { since: number }).since;
  assert.ok(Math.abs(since - Date.now()) < 1000);
  // Pretend the marker was revived long ago: l3 need not wait.
  fs.writeFileSync(markerPath(file), JSON.stringify({ since: Date.now() - 5_000 }));
  const l3 = new LockfileBackend(file + '.lock');
  assert.equal(l3.tryLock(), true);
  l3.unlock();
});

test('metrics: Prometheus text with HELP/TYPE for every series and the lock-wait quantiles', async () => {
  const sink = new Sink({ file: path.join(tmp(), 'e.jsonl') });
  sink.record('m.x', {});
  await sink.flush();
  const text = toPrometheus(sink.stats(), { sid: 'a"b' });
  await sink.close();
  const lines = text.trim().split('\n');
  for (const l of lines) assert.match(l, /^(# (HELP|TYPE) telemetry_sink_\w+ .+|telemetry_sink_\w+\{[^}]*\} [0-9.e+-]+)$/, l);
  assert.match(text, /telemetry_sink_events_written_total\{backend="flock",provider="(fs-ext|koffi)",sid="a_b"\} 1/);
  assert.match(text, /quantile="0.99"/);
});

test('sink: closeSync on a full queue still writes the sink.dropped notice (the gap reads as dropped, not lost)', () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, maxQueueEvents: 3, flushIntervalMs: 60_000 });
  for (let i = 0; i < 5; i++) sink.record('burst', { i }); // seqs 3 and 4 dropped
  const res = sink.closeSync({ sessionEnd: true }); // session.end (seq 5) dropped too: the queue is still full
  assert.equal(res.error, undefined, res.error?.message);
  assert.equal(res.pending, 0);
  const a = analyze([file]);
  const notice = a.valid.find((v) => v.type === 'sink.dropped');
  assert.ok(notice, 'a sink.dropped notice is in the file');
  assert.deepEqual([notice.data.from_seq, notice.data.to_seq], [3, 5]);
  assert.deepEqual(a.bySid.get(sink.sid), [0, 1, 2, 6]);
});

test('sink: rotateNow whose reopen fails resolves with the error (never rejects) and lets go of the lock file', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, lock: 'lockfile' });
  sink.record('unit.a', {});
  await sink.flush();
  const nodeFs = (await import('node:fs')).default; // the module itself, which src's calls go through
  const real = nodeFs.openSync;
  let fail = false;
  (nodeFs as { openSync: unknown }).openSync = (p: fs.PathLike, ...rest: unknown[]) => {
    if (fail && p === file) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    return (real as (...a: unknown[]) => number)(p, ...rest);
  };
  let r: Awaited<ReturnType<Sink['rotateNow']>> | undefined;
  try {
    const p = sink.rotateNow();
    fail = true; // rotateNow flushes (awaits) before it rotates: the reopen after the rotation fails
    r = await p;
  } catch (err) {
    assert.fail(`rotateNow rejected: ${(err as Error).message}`);
  } finally {
    nodeFs.openSync = real;
  }
  assert.match(r?.error?.code ?? 'no error', /^ERR_/);
  assert.equal(fs.existsSync(file + '.lock'), false, 'the lock file was released');
  sink.record('unit.b', {});
  assert.equal((await sink.close()).error, undefined);
});
