/**
 * The ship cursor against repairs (no server: a fake sink records the rows): a repair rewrites files in
 * place, so offsets taken before it point elsewhere; the cursor's epoch token makes the next pass read
 * those files from 0, and a repair during a pass ends it with ERR_CHANGED instead of a silent skip.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/tmp';
import { buildLine } from '../../src/core/sink/envelope';
import { repair } from '../../src/core/integrity/repair';
import { checkCursor, newCursor, type FileEntry } from '../../src/core/ship/cursor';
import { afterRepair, type Present } from '../../src/core/ship/plan';
import { ShipError } from '../../src/core/ship/errors';
import { shipPass } from '../../src/core/ship/pass';
import { fakeHost } from '../helpers/shipFake';

const SID = 'epo00000-0000-4000-8000-000000000000';
/** Every line of seq 10..99 is the same length, so a removed line of that length leaves the cursor at a line start. */
const ev = (seq: number): string => buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, '2026-11-28T03:00:00.000Z', SID, seq, '"ship.test"', '"cli"', `{"n":${seq}}`);
const goods = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i)).join('');

const tmpFile = (content: string): string => {
  const file = path.join(tmpDir('lts-shipe-'), 'events.jsonl');
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
};
const missing = (seqs: number[], from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i).filter((s) => !seqs.includes(s));

test('ship cursor: a repair that moves bytes since the last pass makes the next pass read the file from 0 (nothing lost)', async () => {
  const junk = 'j'.repeat(ev(10).length - 1) + '\n';
  const file = tmpFile(goods(10, 19) + junk + goods(20, 29));
  const f = fakeHost(file);
  await shipPass(f.host);
  assert.deepEqual(missing(f.seqs, 10, 29), []);
  assert.equal(f.cursor.epoch, 'none');
  const r = await repair({ file });
  assert.equal(r.clean, false, 'the junk line was moved out: every later line moved back by its length');
  fs.appendFileSync(file, goods(30, 39));
  // The old offset is now a line start inside the appended lines: read from there, line 30 is lost.
  await shipPass(f.host);
  assert.deepEqual(missing(f.seqs, 10, 39), [], 'every event shipped at least once');
  assert.notEqual(f.cursor.epoch, 'none', 'the cursor now carries the repair epoch');
  const n = f.seqs.length;
  await shipPass(f.host);
  assert.equal(f.seqs.length, n, 'a pass under the same epoch sends nothing again');
});

test('ship cursor: a repair while a pass reads ends the pass with ERR_CHANGED; the next pass ships from 0', async () => {
  const junk = 'j'.repeat(ev(10).length - 1) + '\n';
  const file = tmpFile(goods(10, 49) + junk + goods(50, 99));
  let repaired = false;
  const f = fakeHost(file, { batchRows: 10, onSend: async () => {
    if (repaired) return;
    repaired = true;
    await repair({ file });
    fs.appendFileSync(file, ev(100));
  } });
  await assert.rejects(shipPass(f.host), (e: ShipError) => e.code === 'ERR_CHANGED');
  assert.ok(repaired);
  await f.host.batcher.flush();
  await shipPass(f.host);
  assert.deepEqual(missing(f.seqs, 10, 100), []);
});

test('afterRepair: present inodes restart at 0 with their first line as it is now (no false gap); gone ones keep their figures', () => {
  const e = (ino: string, first: string, offset: number): FileEntry => ({ dev: '1', ino, first, name: `f${ino}`, size: 100, offset, line: 3, live: false });
  const p = (ino: string, first: string): Present => ({ snap: { path: `f${ino}`, size: 90, locked: true }, index: 0, dev: '1', ino, first, name: `f${ino}`, size: 90, live: false });
  const a = afterRepair([e('1', 'sha:x', 100), e('2', 'id:b', 0), e('3', 'id:c', 40)], [p('1', 'id:a'), p('2', 'id:b')]);
  assert.deepEqual(a.entries.map((x) => [x.ino, x.first, x.offset, x.line]), [['1', 'id:a', 0, 0], ['2', 'id:b', 0, 0], ['3', 'id:c', 40, 3]]);
  assert.deepEqual(a.reset, ['f1']);
  const c = { ...newCursor('/f', 'd'), epoch: 'abc' };
  assert.equal(checkCursor(c, '/f', 'd'), undefined);
  assert.equal(checkCursor({ ...c, epoch: 5 }, '/f', 'd'), 'epoch is malformed');
  assert.equal(checkCursor({ ...c, epoch: undefined }, '/f', 'd'), undefined, 'a cursor from before the field reads as epoch none');
});
