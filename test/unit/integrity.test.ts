import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { verify, VerifyReport } from '../../src/core/integrity/verify';
import { repair, rebuild } from '../../src/core/integrity/repair';
import { FingerprintSet } from '../../src/core/integrity/idset';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-int-');
const SID = 'aaaaaaaa-0000-4000-8000-000000000001';
let idn = 0;
function line(seq: number, opts: { sid?: string; type?: string; data?: Record<string, unknown>; id?: string; ts?: string } = {}): string {
  const id = opts.id ?? `00000000-0000-4000-8000-${String(++idn).padStart(12, '0')}`;
  return buildLine(id, opts.ts ?? `2026-11-28T03:00:${String(seq % 60).padStart(2, '0')}.000Z`, opts.sid ?? SID, seq, JSON.stringify(opts.type ?? 'test.event'), '"cli"', JSON.stringify(opts.data ?? { n: seq }));
}
const good = (from: number, to: number, sid = SID): string => Array.from({ length: to - from + 1 }, (_, i) => line(from + i, { sid })).join('');

/** Only what must differ between runs of the same file: timing, threads, mode and the fast-path count. */
const strip = (r: VerifyReport): unknown => ({ ...r, elapsedMs: 0, megabytesPerSecond: 0, parallel: 0, mode: '', totals: { ...r.totals, fastPath: 0 } });

/**
 * Every corpus file is verified in-process, with two worker threads, and in deep mode (every line
 * parsed, no fast scanner): the three reports must agree.
 */
async function check(content: string | Buffer): Promise<VerifyReport> {
  const file = path.join(tmp(), 'events.jsonl');
  fs.writeFileSync(file, content);
  const inProcess = await verify({ file, maxProblems: 1000, workers: 0 });
  const threaded = await verify({ file, maxProblems: 1000, workers: 2 });
  const deep = await verify({ file, maxProblems: 1000, deep: true });
  assert.equal(threaded.parallel, 2);
  assert.equal(inProcess.mode, 'fast');
  assert.equal(deep.mode, 'deep');
  assert.equal(deep.totals.fastPath, 0);
  assert.deepEqual(strip(threaded), strip(inProcess), 'worker threads report exactly what the in-process path does');
  assert.deepEqual(strip(deep), strip(inProcess), 'deep mode reports exactly what the fast path does');
  return inProcess;
}
const codes = (r: VerifyReport): string[] => r.problems.map((p) => `${p.line}:${p.code}`);

test('corpus: a clean file is clean', async () => {
  const r = await check(good(0, 9));
  assert.equal(r.clean, true);
  assert.deepEqual(codes(r), []);
  assert.equal(r.totals.valid, 10);
  assert.equal(r.sessions, 1);
});

test("corpus: the seed's interleaved example", async () => {
  const r = await check('{"id": 1, "data": {"id": 2, "data": "event2"}\n"event1"}\n');
  assert.deepEqual(codes(r), ['1:torn', '2:invalid_json']);
});

test('corpus: truncated last line (no newline) is torn', async () => {
  const r = await check(good(0, 2) + line(3).slice(0, 40));
  assert.deepEqual(codes(r), ['4:torn']);
  assert.equal(r.totals.torn, 1);
});

test('corpus: a torn line fenced by the appender', async () => {
  const r = await check(good(0, 1) + line(2).slice(0, 50) + '\n' + good(3, 4));
  assert.deepEqual(codes(r), ['3:torn', '4:lost']);
  assert.equal(r.totals.lost, 1, 'its event is lost: seq 2 is missing');
});

test('corpus: zero-filled tail after a crash', async () => {
  const r = await check(Buffer.concat([Buffer.from(good(0, 2)), Buffer.alloc(4096)]));
  assert.deepEqual(codes(r), ['4:nul_bytes']);
});

test('corpus: invalid UTF-8, BOM, CRLF, blank lines', async () => {
  const bad = Buffer.from(line(1));
  const i = bad.indexOf('"n"') + 1;
  bad[i] = 0xff;
  const r = await check(Buffer.concat([Buffer.from('\ufeff' + line(0)), bad, Buffer.from(line(2).replace(/\n$/, '\r\n') + '\n   \n' + good(3, 3))]));
  assert.deepEqual(codes(r), ['1:bom', '2:invalid_utf8', '3:crlf', '3:lost', '4:blank', '5:blank']);
  assert.equal(r.totals.lost, 1, 'only the unreadable seq 1 is missing (seen at line 3): BOM and CRLF lines still count for seq');
});

test('corpus: a 5 MB line is too long, and read in bounded memory', async () => {
  const big = line(1, { data: { blob: 'z'.repeat(5 * 1024 * 1024) } });
  const r = await check(good(0, 0) + big + good(2, 2));
  assert.deepEqual(codes(r), ['2:too_long', '3:lost']);
  assert.ok(r.problems[0]!.excerpt!.length < 200, "a short excerpt, not the 5 MB line");
});

test('corpus: non-object JSON and wrong field types', async () => {
  const wrong = line(2).replace('"seq":2', '"seq":"2"');
  const r = await check(good(0, 0) + '[1,2]\n42\n' + wrong + line(1).replace('"type":"test.event"', '"type":"Bad Type"'));
  assert.deepEqual(codes(r), ['2:not_object', '3:not_object', '4:schema', '5:schema']);
  assert.match(r.problems.find((p) => p.line === 4 && p.code === 'schema')!.message, /seq/);
});

test('corpus: bad crc on a line that still parses', async () => {
  const r = await check(good(0, 0) + line(1).replace('"n":1', '"n":7') + good(2, 2));
  assert.deepEqual(codes(r), ['2:crc_mismatch']);
});

test('corpus: seq gap without and with a covering sink.dropped', async () => {
  const lost = await check(good(0, 2) + good(6, 7));
  assert.deepEqual(codes(lost), ['4:lost']);
  assert.equal(lost.totals.lost, 3);
  const dropped = await check(good(0, 2) + line(6, { type: 'sink.dropped', data: { from_seq: 3, to_seq: 5, count: 3 } }) + good(7, 7));
  assert.deepEqual(codes(dropped), []);
  assert.equal(dropped.clean, true);
  assert.equal(dropped.totals.dropped, 3);
  const partly = await check(good(0, 2) + line(7, { type: 'sink.dropped', data: { from_seq: 3, to_seq: 4, count: 2 } }) + good(8, 8));
  assert.deepEqual(codes(partly), ['4:lost']);
  assert.equal(partly.totals.lost, 2);
  assert.equal(partly.totals.dropped, 2);
});

test('corpus: duplicate id, duplicate seq, out-of-order seq, ts going backwards', async () => {
  const dupId = await check(line(0, { id: 'same-id' }) + line(1, { id: 'same-id' }));
  assert.deepEqual(codes(dupId), ['2:duplicate_id']);
  const l1 = line(1);
  const dupSeq = await check(line(0) + l1 + l1 + line(2));
  assert.deepEqual(codes(dupSeq), ['3:duplicate'], 'a repeated line is one duplicate, not also a duplicate id');
  const ooo = await check(line(0) + line(2) + line(1) + line(3));
  assert.deepEqual(codes(ooo), ['3:out_of_order']);
  assert.equal(ooo.totals.lost, 0);
  const back = await check(line(0, { ts: '2026-11-28T03:00:05.000Z' }) + line(1, { ts: '2026-11-28T03:00:01.000Z' }));
  assert.equal(back.clean, true, 'ts going backwards is a warning, not a problem');
  assert.equal(back.totals.warnings, 1);
  assert.equal(back.warnings[0]!.code, 'ts_backwards');
});

test('corpus: interleaved sessions and lines without crc (other tools) are fine', async () => {
  const other = 'bbbbbbbb-0000-4000-8000-000000000002';
  const noCrc = line(1, { sid: other }).replace(/,"crc":"[0-9a-f]{8}"\}\n$/, '}\n');
  const r = await check(line(0) + line(0, { sid: other }) + line(1) + noCrc + line(2));
  assert.equal(r.clean, true);
  assert.equal(r.sessions, 2);
  assert.equal(r.totals.withoutCrc, 1);
});

test('property: random damage to a random line of a file with crcs is always found', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const base = Buffer.from(good(0, 99));
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const buf = Buffer.from(base);
    const starts = [0];
    for (let i = 0; i < buf.length - 1; i++) if (buf[i] === 10) starts.push(i + 1);
    const li = rnd(starts.length);
    const s = starts[li]!;
    const e = buf.indexOf(10, s);
    const pos = s + rnd(e - s);
    const kind = rnd(3);
    let damaged: Buffer;
    if (kind === 0) {
      damaged = Buffer.from(buf);
      let v = rnd(256);
      if (v === damaged[pos]) v = (v + 1) % 256;
      damaged[pos] = v;
    } else if (kind === 1) damaged = Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + 1)]);
    else damaged = Buffer.concat([buf.subarray(0, pos), Buffer.from([0x20 + rnd(95)]), buf.subarray(pos)]);
    fs.writeFileSync(file, damaged);
    const r = await verify({ file });
    assert.equal(r.clean, false, `round ${round}: damage kind ${kind} at byte ${pos} (line ${li + 1}) went unnoticed`);
    const deep = await verify({ file, deep: true });
    const key = (x: VerifyReport): string[] => x.problems.map((p) => `${p.code} ${p.line} ${p.offset} ${p.sid ?? ''} ${p.message}`);
    assert.deepEqual(key(deep), key(r), `round ${round}: deep mode finds the same problems (codes, lines, offsets, sessions)`);
  }
});

test('repair: kept + quarantined lines equal the original byte for byte; idempotent', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const badUtf8 = Buffer.from(line(5));
  badUtf8[20] = 0xfe;
  const original = Buffer.concat([
    Buffer.from('\ufeff' + line(0) + '\n' + good(1, 2) + '[1]\n' + line(3).replace('"n":3', '"n":9') + line(4).replace(/\n$/, '\r\n')),
    badUtf8,
    Buffer.from(good(6, 7) + '{"v":1,"id":"torn'),
  ]);
  fs.writeFileSync(file, original, { mode: 0o640 });
  const { mode: modeBefore, ino: inoBefore } = fs.statSync(file);
  const r = await repair({ file });
  assert.equal(r.clean, false);
  assert.deepEqual(r.byReason, { bom: 1, blank: 1, not_object: 1, crc_mismatch: 1, crlf: 1, invalid_utf8: 1, torn: 1 });
  assert.equal(r.linesMoved, 7);
  assert.equal(r.bytesKept + r.bytesMoved, original.length);
  assert.ok((await rebuild(file, r.quarantine!)).equals(original), 'lossless');
  assert.equal(fs.statSync(file).mode, modeBefore, 'the file keeps its mode (rewritten in place)');
  assert.equal(fs.statSync(file).ino, inoBefore, 'the file keeps its inode');
  assert.equal((fs.statSync(r.quarantine!).mode & 0o777).toString(8), '600');
  const q = fs.readFileSync(r.quarantine!, 'utf8').trim().split('\n').map((s) => JSON.parse(s) as { line: number; base64?: string; reason: string });
  assert.ok(q.find((x) => x.reason === 'invalid_utf8')!.base64, 'non-UTF-8 bytes kept as base64');
  const after = await verify({ file });
  assert.equal(after.totals.invalid, 0);
  const ino = fs.statSync(file).ino;
  const again = await repair({ file });
  assert.equal(again.clean, true);
  assert.equal(fs.statSync(file).ino, ino, 'a clean file is not rewritten');
});

test('verify: a missing file is a clear ERR_NOT_FOUND', async () => {
  await assert.rejects(verify({ file: path.join(tmp(), 'nope.jsonl') }), (e: Error & { code?: string }) => e.code === 'ERR_NOT_FOUND');
});

test('fingerprint set: duplicates found across spilled runs, nothing else', () => {
  const set = new FingerprintSet();
  const dups = [17, 2 ** 40 + 5, 123_456_789];
  let x = 1;
  for (let i = 0; i < 700_000; i++) {
    x = (x * 48271) % 2147483647; // distinct values (a full-period generator)
    set.add(x * 1024 + 0.0);
    if (i === 10) set.add(dups[0]!);
    if (i === 300_000) set.add(dups[0]!);
    if (i === 400_000) set.add(dups[1]!);
    if (i === 699_999) set.add(dups[1]!);
    if (i === 5) set.add(dups[2]!);
    if (i === 6) set.add(dups[2]!);
  }
  assert.deepEqual([...set.duplicates()].sort((a, b) => a - b), [...dups].sort((a, b) => a - b));
});
