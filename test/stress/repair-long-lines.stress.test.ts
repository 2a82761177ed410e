/**
 * Huge lines (issue #14 item 7): a 100 MB zero-filled line (JSON-escaping it as text overflowed V8's
 * string limit: "Invalid string length", never repairable) and a 300 MB last line without newline
 * (the copy was built whole in memory; at 2 GB V8 crashed). Repair runs inside the extension host,
 * so it must stream them in bounded memory; the rebuild proof must hold byte for byte.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { buildLine } from '../../src/core/sink/envelope';
import { rebuildTo } from '../../src/core/integrity/repair';
import { ROOT, run } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';

const REPAIRER = path.join(ROOT, 'out', 'test', 'fixtures', 'repairer.js');
const MB = 1024 * 1024;

function writeFile(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w', 0o600);
  const put = (b: Buffer): void => {
    hash.update(b);
    fs.writeSync(fd, b);
  };
  const ev = (seq: number): Buffer => Buffer.from(buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, '2026-11-28T03:00:00.000Z', 'long0000-0000-4000-8000-000000000000', seq, '"long.test"', '"cli"', `{"n":${seq}}`));
  for (let s = 0; s < 10; s++) put(ev(s));
  const zeros = Buffer.alloc(8 * MB);
  for (let i = 0; i < 100 / 8; i++) put(zeros);
  put(Buffer.alloc((100 % 8) * MB));
  put(Buffer.from('\n'));
  for (let s = 10; s < 20; s++) put(ev(s));
  const xs = Buffer.alloc(8 * MB, 0x78);
  for (let i = 0; i < 300 / 8; i++) put(xs);
  put(Buffer.alloc((300 % 8) * MB, 0x78));
  fs.closeSync(fd);
  return hash.digest('hex');
}

test('a 100 MB zero-filled line and a 300 MB unterminated last line: repaired in bounded memory, losslessly', { timeout: 240_000 }, async (t) => {
  const dir = tmpDir('lts-long-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true })); // about 1 GB
  const file = path.join(dir, 'events.jsonl');
  const want = writeFile(file);
  const d = await run(process.execPath, [REPAIRER, JSON.stringify({ file })]).done;
  assert.equal(d.code, 0, `${d.stdout} ${d.stderr}`);
  const r = JSON.parse(d.stdout) as { clean: boolean; linesMoved: number; byReason: Record<string, number>; quarantine: string; maxRSS: number };
  assert.equal(r.linesMoved, 2);
  assert.deepEqual(r.byReason, { nul_bytes: 1, torn: 1 });
  console.log(`# repair of a ${(fs.statSync(r.quarantine).size / MB).toFixed(0)} MB quarantine: peak RSS ${(r.maxRSS / MB).toFixed(0)} MB`);
  assert.ok(r.maxRSS < 120 * MB, `peak RSS ${(r.maxRSS / MB).toFixed(0)} MB: memory does not grow with the line`);
  const hash = createHash('sha256');
  await rebuildTo(file, r.quarantine, (b) => void hash.update(b));
  assert.equal(hash.digest('hex'), want, 'kept + quarantined = original, byte for byte');
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 20, 'the 20 valid events stay in the file');
});
