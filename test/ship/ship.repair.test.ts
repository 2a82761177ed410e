/**
 * Ship tier: a repair between two runs (and one during a run) against a real ClickHouse. Repair rewrites
 * the file in place, same inode, and every line after a removed one moves back: the cursor's repair
 * epoch makes the next run read the file from 0, and FINAL keeps each event exactly once.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clickHouseForFile } from '../helpers/clickhouseFile';
import { ChProxy } from '../helpers/chproxy';
import { sleep } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { shipCli } from '../helpers/shipfix';
import { buildLine } from '../../src/core/sink/envelope';
import { repair } from '../../src/core/integrity/repair';

const { skip, ch } = clickHouseForFile();

const SID = 'shr00000-0000-4000-8000-000000000000';
/** Lines of seq 100..999 are all one length: a removed line of that length leaves the old offset on a line start. */
const ev = (seq: number): string => buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, new Date(Date.UTC(2026, 10, 28, 3, 0, seq % 60)).toISOString(), SID, seq, '"editor.document.save"', '"cli"', `{"language_id":"go","n":${seq}}`);
const goods = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i)).join('');

test('ship, repair (moves bytes, same inode), append, ship again: every event in ClickHouse exactly once', { skip, timeout: 90_000 }, async () => {
  const file = path.join(tmpDir('lts-shipr-'), 'events.jsonl');
  const junk = 'j'.repeat(ev(100).length - 1) + '\n';
  fs.writeFileSync(file, goods(100, 299) + junk + goods(300, 499), { mode: 0o600 });
  const args = ['--url', ch.url, '--file', file, '--database', 'rep', '--json'];
  const r1 = await shipCli(args).done;
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal((JSON.parse(r1.stdout) as { shipped: number }).shipped, 400);
  const ino = fs.statSync(file).ino;
  assert.equal((await repair({ file })).clean, false);
  fs.appendFileSync(file, goods(500, 599));
  assert.equal(fs.statSync(file).ino, ino, 'repaired in place');
  const r2 = await shipCli(args).done;
  assert.equal(r2.code, 0, r2.stderr);
  const res = JSON.parse(r2.stdout) as { shipped: number; reshipped: number };
  assert.equal(await ch.scalar('SELECT count() FROM rep.events FINAL'), 500);
  assert.equal(res.reshipped, 1, 'the repaired file was shipped again from its start');
  assert.equal(await ch.scalar('SELECT uniqExact(sid, seq) FROM rep.events'), 500);
  assert.equal(await ch.scalar('SELECT min(seq) FROM rep.events'), 100);
  assert.equal(await ch.scalar('SELECT max(seq) FROM rep.events'), 599);
  // A third run under the same epoch sends nothing.
  const r3 = await shipCli(args).done;
  assert.equal((JSON.parse(r3.stdout) as { shipped: number }).shipped, 0, r3.stderr);
});

test('a repair while a pass is shipping: the pass is run again (ERR_CHANGED is never a silent skip), each event once', { skip, timeout: 120_000 }, async () => {
  const file = path.join(tmpDir('lts-shipr-'), 'events.jsonl');
  const junk = 'j'.repeat(ev(100).length - 1) + '\n';
  fs.writeFileSync(file, goods(100, 599) + junk + goods(600, 999), { mode: 0o600 });
  // Slow acknowledgements keep the pass reading for seconds: the repair lands inside it.
  const proxy = await ChProxy.start(ch.httpPort);
  proxy.answerDelayMs = 60;
  try {
    const p = shipCli(['--url', proxy.url, '--file', file, '--database', 'repmid', '--batch-rows', '25', '--json']);
    while (proxy.inserts < 3) await sleep(20);
    assert.equal((await repair({ file })).clean, false);
    const r = await p.done;
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { changedPasses: number; caughtUp: boolean };
    assert.ok(res.changedPasses >= 1, `changedPasses ${res.changedPasses}: ${r.stderr}`);
    assert.match(r.stderr, /a repair changed events\.jsonl .*reading again/);
    assert.equal(res.caughtUp, true);
  } finally {
    await proxy.close();
  }
  assert.equal(await ch.scalar('SELECT count() FROM repmid.events FINAL'), 900);
  assert.equal(await ch.scalar('SELECT uniqExact(sid, seq) FROM repmid.events'), 900);
});
