/**
 * Ship tier, the exactly-once claim: 8 writers append with small rotation while `ship --follow` runs;
 * the shipper is killed with SIGKILL at seeded random moments (≥ 20 times) and restarted; the
 * ClickHouse server is stopped and started again mid-way. At the end, after FINAL, count() and
 * uniqExact(sid, seq) equal the valid events in the files, and every (sid, seq) of the files is there.
 * Scaled for CI (8 × 10,000 events); SHIP_FULL=1 runs the 1M events. SHIP_SEED=N replays.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clickHouseOrSkip, startClickHouse } from '../helpers/clickhouse';
import { ChProxy } from '../helpers/chproxy';
import { sleep, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { byKey, cursorFiles, fileKeys, setFiles, shipCli } from '../helpers/shipfix';
import { rng } from '../helpers/random';

const skip = clickHouseOrSkip();
const FULL = process.env.SHIP_FULL === '1';
const WRITERS = 8;
const PER_WRITER = FULL ? 125_000 : 10_000;
const KILLS = 24;

test(`exactly once after FINAL: ${WRITERS} writers × ${PER_WRITER.toLocaleString('en-US')} events with rotation, ${KILLS} kill -9s of the shipper, a server restart`, { skip, timeout: FULL ? 1_800_000 : 300_000 }, async () => {
  const seed = process.env.SHIP_SEED ? Number(process.env.SHIP_SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`ship crash test seed: ${seed} (SHIP_SEED=${seed} replays the kill schedule)`);
  const rand = rng(seed);
  const ch = await startClickHouse();
  try {
    const file = path.join(tmpDir('lts-shipx-'), 'events.jsonl');
    const ws = Array.from({ length: WRITERS }, () =>
      writer({ file, count: PER_WRITER, rotateBytes: FULL ? 4 << 20 : 512 << 10, ...(FULL ? { burst: 200 } : { burst: 25, paceMs: 40 }) }),
    );
    // Through a proxy that holds each INSERT's answer 150 ms after the server has the rows: most kills
    // land in that window, so the next shipper sends those rows again (counted by the proxy).
    const proxy = await ChProxy.start(ch.httpPort);
    proxy.answerDelayMs = 150;
    const args = ['--url', proxy.url, '--file', file, '--database', 'crash', '--follow', '--poll-ms', '200', '--batch-rows', FULL ? '5000' : '400', '--retry-max-ms', '500'];
    const stops: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const s = shipCli(args);
      const insertsBefore = proxy.inserts;
      if (k === 10) {
        // Server gone mid-way: the running shipper retries, then is killed while retrying or after.
        await sleep(300);
        await ch.stop();
        await sleep(1000);
        await ch.start();
      }
      // Kill once it is shipping (its first INSERT went out; a busy machine makes start-up slow),
      // at a random moment after that; or after 5 s if it has nothing to send.
      const t0 = Date.now();
      while (proxy.inserts === insertsBefore && Date.now() - t0 < 5000 && s.child.exitCode === null) await sleep(10);
      const life = Math.floor(rand() * 600);
      await sleep(life);
      s.child.kill('SIGKILL');
      const d = await s.done;
      assert.equal(d.signal, 'SIGKILL', `shipper ${k} died by itself (code ${d.code}): ${d.stderr.slice(-1500)}`);
      stops.push(`${life}`);
    }
    const results = await Promise.all(ws.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const final = await shipCli(['--url', proxy.url, '--file', file, '--database', 'crash', '--json']).done;
    assert.equal(final.code, 0, final.stderr);
    await proxy.close();

    const keys = fileKeys(file);
    assert.equal(keys.length, WRITERS * (PER_WRITER + 2), 'every writer line is in the files (session.start + events + session.end)');
    assert.ok(setFiles(file).length > 5, 'the set rotated while shipping ran');
    const t = 'crash.events';
    const resent = proxy.rowsAcked - keys.length;
    console.log(`rows acknowledged ${proxy.rowsAcked}, events ${keys.length}: ${resent} sent again after kills; kill times after the first INSERT (ms) ${stops.join(' ')}`);
    assert.ok(resent > 0, 'some kills caught a batch the server had but the shipper had not recorded (else this test did not test re-sends)');
    assert.equal(await ch.scalar(`SELECT count() FROM ${t} FINAL`), keys.length);
    assert.equal(await ch.scalar(`SELECT uniqExact(sid, seq) FROM ${t} FINAL`), keys.length);
    const shipped = (await ch.query(`SELECT sid, seq FROM ${t} FINAL ORDER BY sid, seq FORMAT TabSeparated`)).split('\n').filter(Boolean);
    shipped.sort(byKey);
    assert.ok(shipped.length === keys.length && shipped.every((x, i) => x === keys[i]), 'every (sid, seq) of the files is in ClickHouse, once');
    const cursor = JSON.parse(fs.readFileSync(cursorFiles(file)[0]!, 'utf8')) as { totals: { gaps: number; invalid: number } };
    assert.deepEqual([cursor.totals.gaps, cursor.totals.invalid], [0, 0], 'no gap, no damaged line');
  } finally {
    await ch.destroy();
  }
});
