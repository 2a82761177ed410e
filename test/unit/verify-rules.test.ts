/**
 * Verify's rules added with the fast path: strict JSON for lines without crc (ambiguous_json),
 * trusted sink.dropped notices only (bad_drop_notice), and sessions tracked on disk past the
 * in-memory limit — each in both modes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { crc32 } from '../../src/core/sink/crc32';
import { verify, VerifyReport } from '../../src/core/integrity/verify';
import { progressText } from '../../src/core/integrity/progress';
import { spawnSync } from 'node:child_process';
import { CLI } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';

const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function fileWith(content: string): string {
  const d = tmpDir('lts-rules-');
  dirs.push(d);
  const f = path.join(d, 'events.jsonl');
  fs.writeFileSync(f, content);
  return f;
}

const SID = 'cccccccc-0000-4000-8000-000000000003';
let idn = 0;
function line(seq: number, o: { sid?: string; type?: string; source?: string; data?: Record<string, unknown> } = {}): string {
  const id = `00000000-0000-4000-8000-${String(++idn).padStart(12, '0')}`;
  return buildLine(id, '2026-11-28T03:00:00.000Z', o.sid ?? SID, seq, JSON.stringify(o.type ?? 'test.event'), JSON.stringify(o.source ?? 'vscode'), JSON.stringify(o.data ?? { n: seq }));
}
const noCrc = (l: string): string => l.replace(/,"crc":"[0-9a-f]{8}"\}\n$/, '}\n');
/** Re-seals a line whose text was edited, as a writer of the format would have written it. */
const reseal = (l: string): string => {
  const body = noCrc(l).trimEnd();
  return `${body.slice(0, -1)},"crc":"${crc32(body).toString(16).padStart(8, '0')}"}\n`;
};
const good = (from: number, to: number, sid = SID): string => Array.from({ length: to - from + 1 }, (_, i) => line(from + i, { sid })).join('');

/** Verifies in both modes (and once with every session tracked on disk); all must agree. */
async function both(content: string, maxProblems = 1000): Promise<VerifyReport> {
  const file = fileWith(content);
  const fast = await verify({ file, maxProblems });
  const deep = await verify({ file, maxProblems, deep: true });
  const onDisk = await verify({ file, maxProblems, sessionsInMemory: 0 });
  const strip = (r: VerifyReport): unknown => ({ ...r, elapsedMs: 0, megabytesPerSecond: 0, mode: '', totals: { ...r.totals, fastPath: 0 } });
  assert.deepEqual(strip(deep), strip(fast), 'deep mode agrees');
  assert.deepEqual(strip(onDisk), strip(fast), 'sessions tracked on disk agree');
  return fast;
}
const codes = (r: VerifyReport): string[] => r.problems.map((p) => `${p.line}:${p.code}`);

test('strict JSON: duplicate keys in a line without crc are ambiguous_json (JSON.parse keeps the last)', async () => {
  const dupSeq = noCrc(line(1)).replace('"seq":1,', '"seq":1,"seq":5,');
  const dupData = noCrc(line(2, { data: { a: 1 } })).replace('"data":{"a":1}', '"data":{"a":1,"\\u0061":2}');
  const r = await both(good(0, 0) + dupSeq + dupData + good(3, 3));
  assert.deepEqual(codes(r), ['2:ambiguous_json', '3:ambiguous_json', '4:lost']);
  assert.match(r.problems[0]!.message, /duplicate key "seq" in the envelope/);
  assert.match(r.problems[1]!.message, /duplicate key "a" in field "data"/);
  assert.equal(r.totals.invalidByReason.ambiguous_json, 2);
});

test('strict JSON: a seq of 2^53+1 is flagged, with or without crc, instead of silently reading as 2^53', async () => {
  const plain = noCrc(line(1)).replace('"seq":1,', '"seq":9007199254740993,');
  const sealed = reseal(line(2).replace('"seq":2,', '"seq":9007199254740993,'));
  const r = await both(good(0, 0) + plain + sealed);
  assert.deepEqual(codes(r), ['2:ambiguous_json', '3:ambiguous_json']);
  assert.match(r.problems[0]!.message, /9007199254740993 is beyond 2\^53/);
  assert.equal(r.totals.lost, 0, 'no gap of 2^53 events is invented from an unreadable seq');
});

test('strict JSON: big integers in the data of a line without crc are flagged; safe ones, floats and crc lines are not', async () => {
  const big = noCrc(line(1)).replace('"data":{"n":1}', '"data":{"id":12345678901234567890}');
  const neg = noCrc(line(2)).replace('"data":{"n":2}', '"data":{"x":{"y":[-9007199254740992]}}');
  const fine = noCrc(line(3)).replace('"data":{"n":3}', '"data":{"a":9007199254740991,"b":-9007199254740991,"c":1.5e300,"d":12345678901234567890.5}');
  const sealedDup = reseal(line(4).replace('"data":{"n":4}', '"data":{"k":1,"k":2}'));
  const r = await both(good(0, 0) + big + neg + fine + sealedDup);
  assert.deepEqual(codes(r), ['2:ambiguous_json', '3:ambiguous_json', '4:lost']);
  assert.match(r.problems[0]!.message, /field "data\.id": integer 12345678901234567890/);
  assert.match(r.problems[1]!.message, /field "data\.x\.y"/);
});

test('drop notice: a forged sink.dropped (0–999999999) no longer turns a real loss into "clean"', async () => {
  for (const source of ['http', 'api:some.extension', 'vscode', 'cli']) {
    const forged = line(6, { source, type: 'sink.dropped', data: { from_seq: 0, to_seq: 999_999_999, count: 1_000_000_000 } });
    const r = await both(good(0, 2) + forged + good(7, 7));
    assert.equal(r.clean, false, `source ${source}`);
    assert.deepEqual(codes(r), ['4:bad_drop_notice', '4:lost'], `source ${source}`);
    assert.equal(r.totals.lost, 3);
    assert.equal(r.totals.dropped, 0);
    assert.equal(r.totals.badDropNotices, 1);
    assert.match(r.problems[0]!.message, source.startsWith('api') || source === 'http' ? /is not a sink's own/ : /reaches its own seq 6/);
  }
});

test("drop notice: impossible ones are flagged and cover nothing; the sink's own still do", async () => {
  const notice = (seq: number, data: Record<string, unknown>): string => line(seq, { type: 'sink.dropped', data });
  const countWrong = await both(good(0, 2) + notice(6, { from_seq: 3, to_seq: 5, count: 2 }) + good(7, 7));
  assert.deepEqual(codes(countWrong), ['4:bad_drop_notice', '4:lost']);
  assert.match(countWrong.problems[0]!.message, /count 2 does not match the range 3–5/);
  const noCount = await both(good(0, 2) + notice(6, { from_seq: 3, to_seq: 5 }) + good(7, 7));
  assert.match(noCount.problems[0]!.message, /count missing/);
  const backwards = await both(good(0, 2) + notice(6, { from_seq: 5, to_seq: 3, count: 3 }) + good(7, 7));
  assert.match(backwards.problems[0]!.message, /not a range/);
  const overlap = await both(good(0, 2) + notice(6, { from_seq: 3, to_seq: 5, count: 3 }) + notice(7, { from_seq: 4, to_seq: 5, count: 2 }) + good(8, 8));
  assert.deepEqual(codes(overlap), ['5:bad_drop_notice']);
  assert.match(overlap.problems[0]!.message, /overlaps 3–5/);
  assert.equal(overlap.totals.dropped, 3);
  const honest = await both(good(0, 2) + notice(6, { from_seq: 3, to_seq: 5, count: 3 }) + good(7, 7));
  assert.equal(honest.clean, true);
  assert.equal(honest.totals.dropped, 3);
});

test('sessions: past the in-memory limit, sessions tracked on disk give the same report (problem order and limit included)', async () => {
  // 3,000 short sessions (a script calling the CLI once per event), some with gaps, repeats and late events.
  const parts: string[] = [];
  const want = { lost: 0, duplicates: 0, outOfOrder: 0 };
  for (let k = 0; k < 3000; k++) {
    const sid = `sess-${k}`;
    const [seqs, what] = k % 7 === 0 ? [[0, 2, 3], 'lost'] : k % 11 === 0 ? [[0, 1, 1, 2], 'duplicates'] : k % 13 === 0 ? [[0, 2, 1], 'outOfOrder'] : [[0, 1, 2], ''];
    if (what) want[what as keyof typeof want]++;
    for (const s of seqs as number[]) parts.push(line(s, { sid }));
  }
  // Interleave a long session across all of them.
  const all = parts.flatMap((p, i) => (i % 3 === 0 ? [p, line(i / 3, { sid: 'long-1' })] : [p]));
  const content = all.join('');
  const file = fileWith(content);
  for (const maxProblems of [1000, 7]) {
    const inMemory = await verify({ file, maxProblems });
    for (const sessionsInMemory of [0, 100]) {
      const mixed = await verify({ file, maxProblems, sessionsInMemory });
      assert.deepEqual({ ...mixed, elapsedMs: 0, megabytesPerSecond: 0 }, { ...inMemory, elapsedMs: 0, megabytesPerSecond: 0 }, `${sessionsInMemory} sessions in memory, ${maxProblems} problems listed`);
    }
    assert.equal(inMemory.sessions, 3001);
    assert.equal(inMemory.problems.length, Math.min(maxProblems, inMemory.problemsTotal));
  }
  const r = await verify({ file, maxProblems: 10_000, sessionsInMemory: 10 });
  assert.deepEqual({ lost: r.totals.lost, duplicates: r.totals.duplicates, outOfOrder: r.totals.outOfOrder }, want);
  assert.ok(want.lost > 400 && want.duplicates > 200 && want.outOfOrder > 150);
  assert.ok(r.problems.every((p) => p.sid && p.sid.startsWith('sess-')), 'session ids of sessions tracked on disk are read back');
});

test('CLI: verify --deep runs deep mode and says so; --json has the mode; other commands refuse --deep', () => {
  const file = fileWith(good(0, 4) + 'junk\n');
  const json = spawnSync(process.execPath, [CLI, 'verify', '--file', file, '--deep', '--json'], { encoding: 'utf8' });
  assert.equal(json.status, 1, json.stderr);
  const r = JSON.parse(json.stdout) as VerifyReport;
  assert.equal(r.mode, 'deep');
  assert.deepEqual(codes(r), ['6:invalid_json']);
  const text = spawnSync(process.execPath, [CLI, 'verify', '--file', file], { encoding: 'utf8' });
  assert.match(text.stdout, /fast mode: crc-verified lines scanned/);
  const refused = spawnSync(process.execPath, [CLI, 'stats', '--file', file, '--deep'], { encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /unknown option --deep/);
});

test('progress text: amount always; speed and time left past 20 MB', () => {
  assert.equal(progressText(5e6, 10e6, 1000), '5 of 10 MB');
  assert.equal(progressText(100e6, 400e6, 1000), '100 of 400 MB · 100 MB/s · ~3 s left');
  assert.equal(progressText(10e6, 7000e6, 1000), '10 of 7000 MB · 10 MB/s · ~11 min 39 s left');
});
