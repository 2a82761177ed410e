/**
 * Ship tier: the cursor's edge cases against a real ClickHouse — rotation between runs, a file removed
 * by retention before it was shipped, damaged lines, a torn tail being written, a corrupt cursor,
 * two shippers at once, and a server that is down or busy.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clickHouseForFile } from '../helpers/clickhouseFile';
import { ChProxy } from '../helpers/chproxy';
import { CLI, run, sleep } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { cursorFiles, realistic, setFiles, shipCli, writeEvents } from '../helpers/shipfix';
import { Sink } from '../../src/core/sink/appender';
import { buildLine } from '../../src/core/sink/envelope';

const { skip, ch } = clickHouseForFile();
let db = 0;

const lineCount = (file: string): number => setFiles(file).reduce((a, f) => a + fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length, 0);
function fresh(): { file: string; dbName: string; args: (...more: string[]) => string[] } {
  const file = path.join(tmpDir('lts-shipc-'), 'events.jsonl');
  const dbName = `c${++db}`;
  return { file, dbName, args: (...more) => ['--url', ch.url, '--file', file, '--database', dbName, ...more] };
}
const count = (dbName: string, final = true): Promise<number> => ch.scalar(`SELECT count() FROM ${dbName}.events${final ? ' FINAL' : ''}`);

test('the live file rotated between two runs: the renamed file resumes at its offset, nothing is sent twice', { skip, timeout: 60_000 }, async () => {
  const { file, dbName, args } = fresh();
  const sink = new Sink({ file, source: 'cli' });
  for (const e of realistic(100)) sink.record(e.type, e.data);
  await sink.flush();
  assert.equal((await shipCli(args()).done).code, 0);
  for (const e of realistic(50, 2)) sink.record(e.type, e.data);
  await sink.flush();
  assert.equal((await sink.rotateNow()).rotated, true);
  for (const e of realistic(30, 3)) sink.record(e.type, e.data);
  await sink.close();
  const r = await shipCli(args('--json')).done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { shipped: number }).shipped, 80);
  assert.equal(await count(dbName, false), 180, 'without FINAL: every event was sent exactly once');
  assert.equal(await count(dbName), lineCount(file));
});

test('a rotated file removed by retention before it was shipped is reported as a gap, never a crash', { skip, timeout: 90_000 }, async () => {
  const { file, dbName } = fresh();
  await writeEvents(file, realistic(600), 40_000); // several rotated files + live
  const files = setFiles(file);
  assert.ok(files.length >= 4, `rotated set: ${files.length}`);
  // First run through a proxy that accepts one INSERT of 50 rows and then fails: the first rotated
  // file is half shipped when the shipper gives up.
  const proxy = await ChProxy.start(ch.httpPort);
  proxy.failInsertsAfter = 1;
  const via = (...more: string[]): string[] => ['--url', proxy.url, '--file', file, '--database', dbName, ...more];
  const first = await shipCli(via('--batch-rows', '50', '--retry-for', '1', '--retry-max-ms', '200')).done;
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /ERR_GAVE_UP/);
  assert.equal(await count(dbName), 50);
  const doomed = files[0]!;
  const doomedLines = fs.readFileSync(doomed, 'utf8').split('\n').filter(Boolean).length;
  fs.unlinkSync(doomed); // retention
  proxy.failInsertsAfter = Infinity;
  // The cursor belongs to (file set, destination URL): the same proxy URL finds it.
  const r = await shipCli(via('--json')).done;
  const again = await shipCli(via('--json')).done;
  await proxy.close();
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { gaps: Array<{ name: string; bytes: number; live: boolean }> };
  assert.equal(res.gaps.length, 1);
  assert.equal(res.gaps[0]!.name, path.basename(doomed));
  assert.ok(res.gaps[0]!.bytes > 0);
  assert.match(r.stderr, /gap: .* was removed \(retention\?\) before it was shipped/);
  assert.equal(await count(dbName), 50 + lineCount(file), `all but the ${doomedLines - 50} unshipped lines of the removed file`);
  assert.equal((JSON.parse(again.stdout) as { gaps: unknown[] }).gaps.length, 0, 'a gap is reported once');
});

test('damaged lines in the middle are not shipped and are counted with verify\'s codes and line numbers', { skip, timeout: 60_000 }, async () => {
  const { file, dbName, args } = fresh();
  await writeEvents(file, realistic(200));
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[50] = lines[50]!.replace('"seq":', '"seq" :'); // crc no longer matches
  lines.splice(120, 0, '{"not": json}');
  lines.splice(150, 0, '');
  fs.writeFileSync(file, lines.join('\n'));
  const r = await shipCli(args('--json')).done;
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { shipped: number; invalid: number; invalidByCode: Record<string, number>; problems: Array<{ line: number; code: string }> };
  const v = await run(process.execPath, [CLI, 'verify', '--file', file, '--json']).done;
  const rep = JSON.parse(v.stdout) as { totals: { valid: number }; problems: Array<{ line: number; code: string }> };
  const lineProblems = rep.problems.filter((p) => !['lost', 'duplicate', 'out_of_order', 'duplicate_id'].includes(p.code));
  assert.deepEqual(res.problems.map((p) => [p.line, p.code]), lineProblems.map((p) => [p.line, p.code]));
  assert.deepEqual(res.invalidByCode, { crc_mismatch: 1, invalid_json: 1, blank: 1 });
  assert.equal(res.shipped, rep.totals.valid);
  assert.equal(await count(dbName), rep.totals.valid);
});

test('a torn tail being written is not shipped until its newline arrives', { skip, timeout: 60_000 }, async () => {
  const { file, dbName, args } = fresh();
  await writeEvents(file, realistic(20));
  const line = buildLine('00000000-0000-4000-8000-000000000001', new Date().toISOString(), 'torn-session', 0, '"test.torn"', '"cli"', '{"x":1}') + '\n';
  fs.appendFileSync(file, line.slice(0, 40));
  const r1 = await shipCli(args('--json')).done;
  assert.equal(r1.code, 0, r1.stderr);
  const res1 = JSON.parse(r1.stdout) as { shipped: number; invalid: number };
  assert.equal(res1.invalid, 0, 'an unfinished last line is not damage');
  assert.equal(await ch.scalar(`SELECT count() FROM ${dbName}.events WHERE sid = 'torn-session'`), 0);
  fs.appendFileSync(file, line.slice(40));
  const r2 = await shipCli(args('--json')).done;
  assert.equal((JSON.parse(r2.stdout) as { shipped: number }).shipped, 1);
  assert.equal(await ch.scalar(`SELECT count() FROM ${dbName}.events FINAL WHERE sid = 'torn-session'`), 1);
  assert.equal(await count(dbName), res1.shipped + 1);
});

test('a corrupt cursor is a clear error (exit 2) until --reset-cursor; a symlinked cursor is refused', { skip, timeout: 60_000 }, async () => {
  const { file, dbName, args } = fresh();
  await writeEvents(file, realistic(30));
  assert.equal((await shipCli(args()).done).code, 0);
  const [cursor] = cursorFiles(file);
  assert.ok(cursor);
  assert.equal(fs.statSync(cursor).mode & 0o777, 0o600);
  for (const garbage of ['{"v":1,"files":', '', '{"v":1,"file":"/elsewhere","destination":"x","files":[]}']) {
    fs.writeFileSync(cursor, garbage);
    const r = await shipCli(args()).done;
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_CURSOR_CORRUPT/);
    assert.match(r.stderr, /--reset-cursor/);
  }
  const r = await shipCli(args('--reset-cursor', '--json')).done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { shipped: number }).shipped, 30);
  assert.equal(await count(dbName, false), 60, 'shipped twice…');
  assert.equal(await count(dbName), 30, '…and once under FINAL');
  const target = path.join(path.dirname(file), 'victim.txt');
  fs.writeFileSync(target, 'keep me');
  fs.rmSync(cursor);
  fs.symlinkSync(target, cursor);
  const s = await shipCli(args()).done;
  assert.equal(s.code, 2);
  assert.match(s.stderr, /ERR_UNSAFE_PATH/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
  // The lock file planted as a symlink: refused, with or without --wait (no endless waiting).
  fs.rmSync(cursor);
  const lock = cursor.replace(/\.cursor$/, '.lock');
  fs.rmSync(lock, { force: true });
  fs.symlinkSync(target, lock);
  for (const extra of [[], ['--wait']]) {
    const l = await shipCli(args(...extra)).done;
    assert.equal(l.code, 2, l.stderr);
    assert.match(l.stderr, /ERR_UNSAFE_PATH/);
  }
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
});

test('two shippers at once: the second refuses (exit 3) or, with --wait, waits until the first stops', { skip, timeout: 90_000 }, async () => {
  const { file, dbName, args } = fresh();
  await writeEvents(file, realistic(500));
  const first = shipCli(args('--follow', '--poll-ms', '100'));
  await sleep(1500);
  const second = await shipCli(args()).done;
  assert.equal(second.code, 3, second.stderr);
  assert.match(second.stderr, /ERR_SHIP_BUSY/);
  const waiter = shipCli(args('--wait', '--json'));
  let waiterDone = false;
  void waiter.done.then(() => (waiterDone = true));
  await sleep(1500);
  assert.equal(waiterDone, false, 'the waiter waits while the first ships');
  first.child.kill('SIGTERM');
  const f = await first.done;
  assert.equal(f.code, 0, `--follow exits cleanly on SIGTERM: ${f.stderr}`);
  const w = await waiter.done;
  assert.equal(w.code, 0, w.stderr);
  assert.equal((JSON.parse(w.stdout) as { shipped: number }).shipped, 0, 'the cursor is shared: nothing left to ship');
  assert.equal(await count(dbName, false), 500);
});

test('server down, then busy (500 Too many parts), then back: batches are retried with backoff and nothing is skipped', { skip, timeout: 90_000 }, async () => {
  const { file, dbName } = fresh();
  await writeEvents(file, realistic(1000));
  const proxy = await ChProxy.start(ch.httpPort);
  proxy.mode = 'drop';
  const p = shipCli(['--url', proxy.url, '--file', file, '--database', dbName, '--batch-rows', '100', '--retry-max-ms', '400', '--json']);
  // Each phase lasts until the shipper has met it (a busy machine can start the process late).
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (const t0 = Date.now(); !ok(); await sleep(50)) if (Date.now() - t0 > 60_000) throw new Error(`timed out waiting: ${what}`);
  };
  await until('4 attempts while the server is down', () => proxy.refused >= 4);
  proxy.mode = 'busy';
  await until('2 attempts while it is busy', () => proxy.refused >= 6);
  const refusedBefore = proxy.refused;
  proxy.failInsertsAfter = proxy.inserts + 3;
  proxy.mode = 'pass';
  await until('an INSERT refused after 3 went through', () => proxy.refused > refusedBefore);
  proxy.failInsertsAfter = Infinity;
  const r = await p.done;
  await proxy.close();
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { shipped: number; retriedBatches: number };
  assert.equal(res.shipped, lineCount(file));
  assert.ok(res.retriedBatches >= 1);
  assert.match(r.stderr, /ClickHouse not accepting \(attempt \d+, next in/);
  assert.equal(await count(dbName), lineCount(file));
});

test('--follow: new lines ship as they come; a table dropped meanwhile is created again and nothing new is lost', { skip, timeout: 90_000 }, async () => {
  const { file, dbName, args } = fresh();
  const sink = new Sink({ file, source: 'cli' });
  for (const e of realistic(100)) sink.record(e.type, e.data);
  await sink.flush();
  const f = shipCli(args('--follow', '--poll-ms', '100', '--retry-max-ms', '300'));
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    const t0 = Date.now();
    while (!(await ok().catch(() => false))) {
      if (Date.now() - t0 > 30_000) throw new Error(`timed out: ${what}`);
      await sleep(100);
    }
  };
  await until('first events', async () => (await count(dbName)) === 100);
  await ch.query(`DROP TABLE ${dbName}.events`);
  for (const e of realistic(40, 5)) sink.record(e.type, e.data);
  await sink.close();
  await until('the new events in a new table', async () => (await count(dbName)) === 40);
  f.child.kill('SIGINT');
  const d = await f.done;
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stderr, /Code 60|doesn't exist/);
});

test('every file gone for a while (moved away, a transient error): the cursor is kept, nothing is re-sent after', { skip, timeout: 60_000 }, async () => {
  const { file, dbName, args } = fresh();
  await writeEvents(file, realistic(300), 20_000);
  assert.equal((await shipCli(args()).done).code, 0);
  const away = fs.mkdtempSync(path.join(path.dirname(file), 'away-'));
  const names = setFiles(file).map((f) => path.basename(f));
  for (const n of names) fs.renameSync(path.join(path.dirname(file), n), path.join(away, n));
  const gone = await shipCli(args('--json')).done;
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual((JSON.parse(gone.stdout) as { gaps: unknown[] }).gaps, [], 'no gap while nothing is there to compare');
  for (const n of names) fs.renameSync(path.join(away, n), path.join(path.dirname(file), n));
  const back = await shipCli(args('--json')).done;
  assert.equal((JSON.parse(back.stdout) as { shipped: number }).shipped, 0);
  assert.equal(await count(dbName, false), lineCount(file), 'nothing sent twice');
});
