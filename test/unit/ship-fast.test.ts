/**
 * The shipper's fast path (verify's header scanner + FastRows) against the full path (classifyLine of
 * every line): the same rows in the same order, the same problems and the same cursor, on files with
 * foreign, torn, damaged, reordered and escaped lines, read in one pass and in parts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp';
import { shipPass } from '../../src/core/ship/pass';
import { ROW_DATA_KEYS, toRow } from '../../src/core/ship/rows';
import { fakeHost, type Fake } from '../helpers/shipFake';
import { generate, NOW, oddLines } from '../helpers/mixedLines';

const tmpFile = (content: string | Buffer): string => {
  const file = path.join(tmpDir('lts-shipf-'), 'events.jsonl');
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
};
const outcome = (f: Fake) => ({ rows: f.rows, problems: f.problems.map((p) => [p.line, p.offset, p.code, p.message, p.excerpt]), files: f.cursor.files.map((e) => [e.offset, e.line]) });

async function both(file: string): Promise<void> {
  const slow = fakeHost(file, { fast: false, batchRows: 97 });
  const fast = fakeHost(file, { batchRows: 97 });
  await shipPass(slow.host);
  await shipPass(fast.host);
  assert.equal(slow.host.fast, undefined);
  assert.ok(fast.host.fast!.taken > 0, 'the fast path took lines');
  assert.deepEqual(outcome(fast), outcome(slow));
}

test('ship fast path: odd, hostile and damaged lines (and a torn tail) give the rows and problems the full path gives', async () => {
  const t = NOW - 3_600_000;
  await both(tmpFile(oddLines(t).join('') + oddLines(t + 1).join('') + '{"v":1,"torn'));
});

test('ship fast path: seeded random files with a line over the cap agree with the full path, in one pass and appended in parts', async () => {
  for (const seed of [21, 22]) {
    const text = Buffer.from(generate(seed, 1500) + `{"v":1,"pad":"${'x'.repeat(1_100_000)}"}\n` + generate(seed + 100, 300));
    await both(tmpFile(text));
    const file = tmpFile('');
    const slow = fakeHost(file, { fast: false });
    const fast = fakeHost(file);
    for (const cut of [0.3, 0.6, 1].map((x) => text.lastIndexOf(10, Math.floor(text.length * x) - 1) + 1)) {
      fs.writeFileSync(file, text.subarray(0, cut));
      await shipPass(slow.host);
      await shipPass(fast.host);
    }
    assert.deepEqual(outcome(fast), outcome(slow), `seed ${seed}`);
  }
});

test('ROW_DATA_KEYS names every data member toRow reads', () => {
  const read = new Set<string>();
  const data = new Proxy({}, { get: (_t, k) => (typeof k === 'string' && read.add(k), undefined) });
  for (const type of ['ai.completion.accepted', 'editor.document.save']) toRow({ v: 1, id: 'i', ts: '2026-01-01T00:00:00.000Z', sid: 's', seq: 1, type, source: 'cli', data: data as Record<string, unknown> }, Buffer.from('{}'), false, 'o');
  assert.deepEqual([...read].filter((k) => k !== 'toJSON').sort(), [...ROW_DATA_KEYS].sort());
});
