/**
 * The fast path's safety net: the header scanner and the JSON validator against the full path
 * (classifyLine: JSON.parse + ajv + crc) on mutated lines, and the chunk reader against scanLines.
 * Seeded: the seed is printed, and FUZZ_SEED=<n> replays a run.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { buildLine } from '../../src/core/sink/envelope';
import { crc32 } from '../../src/core/sink/crc32';
import { classifyLine } from '../../src/core/integrity/classify';
import { fingerprint } from '../../src/core/integrity/idset';
import { skipJsonObject } from '../../src/core/integrity/jsonScan';
import { fingerprintAt, newCanonicalFields, scanCanonical, tsMsAt } from '../../src/core/integrity/scanner';
import { chunkBufferSize, forEachLine, LineChunk, rawLine, readLineChunks } from '../../src/core/integrity/chunks';
import { RawLine, scanLines } from '../../src/core/integrity/reader';
import { classifyPacket, Packet } from '../../src/core/integrity/packet';
import { tmpDir } from '../helpers/tmp';
import { intRng as rng } from '../helpers/random';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_007);
console.log(`verify-scanner: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
/** Seals a body (a JSON object text ending in `}`) as the sink does: crc of the body, then the tail. */
function seal(body: Buffer): Buffer {
  const crc = crc32(body).toString(16).padStart(8, '0');
  return Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(`,"crc":"${crc}"}`)]);
}
const unseal = (line: string): string => line.replace(/,"crc":"[0-9a-f]{8}"\}\n$/, '}');

const SAMPLE_DATA = [
  { path: 'src/a.ts', language_id: 'typescript', changes: 3, dirty: true, ratio: 0.25, none: null },
  { nested: { list: [1, 2.5e-3, -7, 'x', [], {}], deep: { a: { b: { c: 'é漢🙂' } } } }, esc: 'quote " backslash \\ tab \t nl \n' },
  {},
  { n: 9007199254740991, neg: -0.0001, big: 1e300, s: '\u0000\u001f\u007f\u2028' },
];

function canonical(r: (n: number) => number, i: number): string {
  const sid = ['aaaaaaaa-0000-4000-8000-000000000001', 'b', 'x'.repeat(64)][r(3)]!;
  const type = ['"editor.document.change"', '"a"', '"ai.completion_v2.shown"'][r(3)]!;
  const source = ['"vscode"', '"cli"', '"http"', '"api:github.copilot-chat_1"'][r(4)]!;
  const id = [`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 'i', 'z'.repeat(64)][r(3)]!;
  const seq = [0, 1, 42, 9007199254740991][r(4)]!;
  return unseal(buildLine(id, '2026-11-28T03:00:59.123Z', sid, seq, type, source, JSON.stringify(SAMPLE_DATA[r(SAMPLE_DATA.length)])));
}

/** Targeted rewrites of a canonical body (the mutations the issue lists), or a random byte edit. */
const MUTATIONS: Array<(s: string, r: (n: number) => number) => string> = [
  (s) => s.replace(/"type":"/, '"type":"a\\"'),
  (s) => s.replace(/"source":"v?/, '"source":"\\u0076'),
  (s) => s.replace(/"sid":"/, '"sid":"\\"'),
  (s) => s.replace(/"id":"/, '"id":"\\u0041'),
  (s, r) => s.replace(/"seq":\d+/, `"seq":${['9007199254740992', '9007199254740993', '99999999999999999999', '18446744073709551616'][r(4)]}`),
  (s, r) => s.replace(/"seq":\d+/, `"seq":${['-0', '1e3', '01', '1.0', '-1', '0.5', '1E2', '00'][r(8)]}`),
  (s, r) => s.replace(/"data":\{/, ['"data":{"k":1,"k":2,', '"seq":7,"data":{', '"data":{"a":{"b":1,"b":2},'][r(3)]!),
  (s, r) => {
    const marks = [...s.matchAll(/[,:{}[\]]/g)].map((m) => m.index!);
    const at = marks[r(marks.length)]! + r(2);
    return s.slice(0, at) + [' ', '\t', '\r', '\n', '  '][r(5)] + s.slice(at);
  },
  (s, r) => s.replace(/"data":\{/, `"data":{"u":"${['é', '\\u00e9', '\\ud800', '🙂', '\\uZZZZ', '\\x41', '\\'][r(7)]}",`),
  (s, r) => s.replace(/"data":\{/, `"data":{"c":"${String.fromCharCode(r(32))}",`),
  (s, r) => s.replace(/"data":\{.*\}$/, `"data":${['[1]', 'null', '"x"', '1', '{', '{"a":}', '{"a" 1}', '{,}', '{"a":1,}', '{"a":tru}', '{"a":-}', '{"a":.5}', '{"a":+1}', '{"a":01}', '{"a":1.}', '{"a":1e}', '{"a":[1,]}', '{"a":[}', '{"a":"\\u12"}'][r(19)]}}`),
  (s, r) => s.replace(/"ts":"[^"]*"/, `"ts":"${['2026-13-28T03:00:59.123Z', '2026-11-28 03:00:59.123Z', '2026-11-28T03:00:59Z', '2026-11-28T03:00:5x.123Z', '0050-01-01T00:00:00.000Z', '2026-11-28T03:00:99.999Z'][r(6)]}"`),
  (s, r) => s.replace(/"data":\{/, `"data":{"d":${'['.repeat(500 + r(200))}${']'.repeat(500 + r(200))},`),
  (s, r) => s.replace('"v":1', ['"v":1.0', '"v":2', '"v":01', '"v" :1'][r(4)]!),
  (s, r) => s.replace(/"type":"[^"]*"/, `"type":"${['A', 'a..b', '.a', 'a.', 'a'.repeat(129), 'a'.repeat(128), 'é'][r(7)]}"`),
  (s, r) => s.replace(/"source":"[^"]*"/, `"source":"${['api:', 'api:x y', 'vscodex', 'cl', 'HTTP', 'api:é'][r(6)]}"`),
];

function mutate(body: string, r: (n: number) => number): Buffer {
  if (r(4) > 0) return Buffer.from(MUTATIONS[r(MUTATIONS.length)]!(body, r));
  const b = Buffer.from(body);
  const pos = r(b.length);
  const alphabet = Buffer.from('{}[]":,\\ 0123456789-+.eEtrufalsn\u00e9\x00\x1f\x7f');
  const byte = r(3) === 0 ? r(256) : alphabet[r(alphabet.length)]!;
  const k = r(3);
  if (k === 0) b[pos] = byte;
  else if (k === 1) return Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
  else return Buffer.concat([b.subarray(0, pos), Buffer.from([byte]), b.subarray(pos)]);
  return b;
}

const tsOf = (ts: string): number => tsMsAt(Buffer.from(ts, 'latin1'), 0);

test('fuzz: the scanner either agrees with the full path or hands the line over; it never calls an invalid line valid', () => {
  const r = rng(SEED);
  const f = newCanonicalFields();
  let fast = 0;
  let handed = 0;
  for (let i = 0; i < 12_000; i++) {
    const body = canonical(r, i);
    const mutated = i % 10 === 0 ? Buffer.from(body) : mutate(body, r);
    // Mostly resealed so the line reaches the crc-verified path; sometimes the crc is left stale.
    const line = r(8) === 0 ? Buffer.concat([mutated.subarray(0, mutated.length - 1), Buffer.from(',"crc":"00000000"}')]) : seal(mutated);
    if (line.includes(10)) continue; // a newline makes two lines: not one line's business
    // Somewhere inside a larger buffer, with arbitrary bytes around it: the scanner reads only [s, e).
    const pad = r(9);
    const buf = Buffer.concat([Buffer.alloc(pad, 0x22), line, Buffer.from('"}:,'.slice(0, r(5)))]);
    const took = scanCanonical(buf, pad, pad + line.length, f);
    const v = classifyLine({ line: 1, offset: 0, bytes: line, terminated: true, truncated: false, length: line.length }, 1 << 20);
    const ctx = `seed ${SEED}, case ${i}: ${JSON.stringify(line.toString('latin1')).slice(0, 400)}`;
    if (!took) {
      handed++;
      continue;
    }
    fast++;
    assert.equal(v.problem, undefined, `the scanner took a line the full path calls ${v.problem} (${v.message}); ${ctx}`);
    const env = v.env!;
    assert.equal(v.crc, true, ctx);
    const str = (s: number, e: number): string => buf.toString('utf8', s, e);
    assert.deepEqual(
      { id: str(f.idStart, f.idEnd), sid: str(f.sidStart, f.sidEnd), seq: f.seq, type: str(f.typeStart, f.typeEnd), source: str(f.sourceStart, f.sourceEnd), ts: tsMsAt(buf, f.tsStart), tsCached: f.ts, fp: fingerprintAt(buf, f.idStart, f.idEnd) },
      { id: env.id, sid: env.sid, seq: env.seq, type: env.type, source: env.source, ts: tsOf(env.ts), tsCached: tsOf(env.ts), fp: fingerprint(env.id) },
      ctx,
    );
    assert.deepEqual(JSON.parse(str(f.dataStart, f.dataEnd)), env.data, ctx);
  }
  assert.ok(fast > 1000 && handed > 1000, `both paths exercised (fast ${fast}, handed over ${handed})`);
});

/** Random JSON objects, printed with random whitespace, then damaged at random. */
function randomJson(r: (n: number) => number, depth: number): string {
  const ws = (): string => ['', '', '', ' ', '\t', '\r\n '][r(6)]!;
  const k = r(depth > 3 ? 5 : 7);
  if (k === 0) return String([0, -1, 12, 3.5, -0.25, 1e21, 2e-7][r(7)]);
  if (k === 1) return ['true', 'false', 'null'][r(3)]!;
  if (k === 2) return JSON.stringify(['', 'a', 'é', '"q"', '\\', '\u0001', '🙂', '\u2028'][r(8)]);
  if (k === 3) return ['"\\u00e9"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\uD83D\\uDE42"'][r(4)]!;
  if (k === 4) return '-0';
  if (k === 5) return `[${ws()}${Array.from({ length: r(4) }, () => randomJson(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  return `{${ws()}${Array.from({ length: r(4) }, () => `${JSON.stringify(['a', 'b', 'é', ''][r(4)])}${ws()}:${ws()}${randomJson(r, depth + 1)}`).join(`${ws()},${ws()}`)}${ws()}}`;
}

test('fuzz: the JSON validator accepts exactly what JSON.parse accepts (as one object, valid UTF-8)', () => {
  const r = rng(SEED ^ 0x5bd1e995);
  let valid = 0;
  for (let i = 0; i < 20_000; i++) {
    let text = `{"x":${randomJson(r, 0)}}`;
    let b: Buffer = Buffer.from(text);
    if (r(2) === 0) {
      b = mutate(text, r);
      text = b.toString('utf8');
    }
    let parsed: unknown;
    let ok = isUtf8(b) && b[0] === 0x7b && b[b.length - 1] === 0x7d;
    try {
      parsed = JSON.parse(text);
      ok &&= parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
    } catch {
      ok = false;
    }
    const got = skipJsonObject(b, 0, b.length);
    assert.equal(got === b.length, ok, `seed ${SEED}, case ${i}: ${JSON.stringify(b.toString('latin1'))}`);
    if (ok) {
      valid++;
      // Cut short, with tempting bytes just past the cut: it must not read beyond `end`.
      const cut = b.length - 1 - r(Math.min(4, b.length - 1));
      const tempt = Buffer.concat([b.subarray(0, cut), Buffer.from('"}:,]'.slice(r(5)))]);
      assert.equal(skipJsonObject(tempt, 0, cut), -1, `seed ${SEED}, case ${i} cut at ${cut}`);
    }
  }
  assert.ok(valid > 5000, `${valid} valid objects among the cases`);
});

test('reader: line chunks give the same lines as scanLines (long lines, no final newline, chunk edges)', async () => {
  const r = rng(SEED ^ 0x1234567);
  const dir = tmpDir('lts-chunks-');
  try {
    for (let round = 0; round < 6; round++) {
      const parts: Buffer[] = [];
      for (let k = 0; k < 400; k++) {
        const len = [0, 1, 50, 700, 5000, 70_000][r(6)]! + r(10);
        parts.push(Buffer.alloc(len, 0x61 + r(26)), Buffer.from('\n'));
      }
      if (round % 2) parts.push(Buffer.alloc(1_100_000 + r(2_000_000), 0x62), Buffer.from('\n')); // longer than a read buffer
      if (round % 3) parts.push(Buffer.from('tail without newline ' + 'z'.repeat(r(3000))));
      const file = path.join(dir, `f${round}.jsonl`);
      fs.writeFileSync(file, Buffer.concat(parts));
      const maxLine = [1000, 60_000, 1 << 20][round % 3]!;
      const want: RawLine[] = [];
      await scanLines(file, fs.statSync(file).size, (l) => void want.push({ ...l, bytes: Buffer.from(l.bytes) }), { bufferCap: maxLine });
      const got: RawLine[] = [];
      const fd = fs.openSync(file, 'r');
      const free: Uint8Array[] = [new Uint8Array(chunkBufferSize(maxLine)), new Uint8Array(chunkBufferSize(maxLine))];
      const emit = (c: LineChunk): void => {
        const buf = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.used);
        forEachLine(c, buf, (s, e) => {
          const l = rawLine(c, buf, s, e, maxLine, got.length + 1);
          got.push({ ...l, bytes: Buffer.from(l.bytes) });
        });
        if (c.pooled) free.push(c.bytes);
      };
      await readLineChunks({ fd, path: file, end: fs.fstatSync(fd).size, maxLine, acquire: () => free.pop()!, release: (b) => free.push(b), emit });
      fs.closeSync(fd);
      assert.equal(got.length, want.length, `round ${round}: line count`);
      for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `seed ${SEED}, round ${round}, line ${i + 1}`);
      assert.equal(free.length, 2, 'every buffer came back');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: sink.dropped and session.start members read on the fast path equal what JSON.parse reads', () => {
  const r = rng(SEED ^ 0x7f4a7c15);
  const keys = ['"from_seq"', '"to_seq"', '"count"', '"lock_backend"', '"from\\u005fseq"', '"lock_backend "', '"x"'];
  const values = ['3', '-0', '1e2', '5.5', '"7"', '"flock"', '"lock\\u0066ile"', 'null', 'true', '{"a":[1,{"b":2}]}', '[3,"]"]', '12345678901234567890'];
  const lines: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    const members = Array.from({ length: r(6) }, () => `${keys[r(keys.length)]}${[':', ' : '][r(2)]}${values[r(values.length)]}`);
    const type = r(2) ? '"sink.dropped"' : '"session.start"';
    const body = unseal(buildLine(`id-${i}`, '2026-11-28T03:00:00.000Z', 'sid-x', i, type, ['"cli"', '"http"'][r(2)]!, `{${members.join(',')}}`));
    lines.push(seal(Buffer.from(body)), Buffer.from('\n'));
  }
  const bytes = new Uint8Array(Buffer.concat(lines));
  const packet = (deep: boolean): Packet => ({ seq: 0, file: 0, bytes, used: bytes.length, baseOffset: 0, pooled: false, maxLine: 1 << 20, deep });
  const fast = classifyPacket(packet(false));
  const deep = classifyPacket(packet(true));
  assert.ok(fast.fast > 1000, `${fast.fast} lines on the fast path`);
  assert.deepEqual(fast.notices, deep.notices, `seed ${SEED}`);
  assert.deepEqual(fast.backends, deep.backends, `seed ${SEED}`);
  assert.deepEqual(fast.problems, deep.problems);
});
