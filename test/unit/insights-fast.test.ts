/**
 * The statistics fast path (verify's header scanner + FastEvents) against the full path (JSON.parse of
 * every line): the same figures, for every range, on generated files with hostile and odd lines —
 * both on one read and when the live file is extended from the cache.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { stats } from '../../src/core/insights/stats';
import { tsParseMs } from '../../src/core/integrity/canonicalLines';
import { canonicalLine, generate, NOW, oddLines, rng } from '../helpers/mixedLines';
import { DATA_KEYS, FileAgg, usesData } from '../../src/core/insights/fileAgg';
import { LocalClock } from '../../src/core/insights/clock';
import type { Data } from '../../src/core/insights/accumulators';
import { figures, tmpEvents } from '../helpers/statsEvents';
import type { RangeName } from '../../src/core/insights/report';

const RANGES: RangeName[] = ['24h', '7d', '30d', 'all'];

async function both(file: string): Promise<void> {
  for (const range of RANGES) {
    const slow = await stats({ file, range, now: NOW, timeZone: 'Europe/Berlin', cache: false, fast: false });
    const fast = await stats({ file, range, now: NOW, timeZone: 'Europe/Berlin', cache: false });
    assert.equal(slow.build!.fastPath, 0);
    assert.ok(fast.build!.fastPath > 0, 'the fast path took lines');
    assert.deepEqual(figures(fast), figures(slow), `range ${range}`);
  }
}

test('fast path: every odd, hostile or damaged line gives the figures the full path gives', async () => {
  const t = NOW - 3_600_000;
  const odd = oddLines(t);
  const { file } = tmpEvents(odd.join('') + canonicalLine(rng(1), t) + '{"v":1,"torn');
  await both(file);
  const slow = await stats({ file, now: NOW, timeZone: 'UTC', cache: false, fast: false });
  const fast = await stats({ file, now: NOW, timeZone: 'UTC', cache: false });
  // The sealed oddities with a plain header went through the scanner; the rest were declined.
  assert.ok(fast.build!.fastPath >= 8, `fastPath ${fast.build!.fastPath}`);
  assert.ok(slow.unreadableLines > 10, `unreadable ${slow.unreadableLines}`);
  assert.deepEqual(figures(fast), figures(slow));
});

test('fast path: seeded random files (with a line over the cap and rotated parts) agree with the full path, cached or not', async () => {
  for (const seed of [11, 12, 13]) {
    const { file } = tmpEvents(generate(seed, 1500) + `{"v":1,"pad":"${'x'.repeat(1_100_000)}"}\n` + generate(seed + 100, 300));
    await both(file);
    // Extended from the cache, part by part: the same as one full read.
    const cacheFile = `${file}.c`;
    const text = fs.readFileSync(file);
    fs.writeFileSync(file, text.subarray(0, 0));
    for (const cut of [0.3, 0.6, 1].map((x) => text.lastIndexOf(10, Math.floor(text.length * x) - 1) + 1)) {
      fs.writeFileSync(file, text.subarray(0, cut));
      await stats({ file, now: NOW, timeZone: 'Europe/Berlin', cacheFile });
    }
    const warm = await stats({ file, now: NOW, timeZone: 'Europe/Berlin', cacheFile });
    assert.equal(warm.build!.readBytes, 0);
    const slow = await stats({ file, now: NOW, timeZone: 'Europe/Berlin', cache: false, fast: false });
    assert.deepEqual(figures(warm), figures(slow), `seed ${seed}`);
  }
});

test('tsParseMs equals Date.parse wherever it gives a number, on 20,000 random well-shaped stamps', () => {
  const r = rng(7);
  const d = (n: number, w: number): string => String(Math.floor(r() * n)).padStart(w, '0');
  for (let i = 0; i < 20_000; i++) {
    const s = `${r() < 0.1 ? d(10_000, 4) : String(1960 + Math.floor(r() * 80))}-${d(14, 2)}-${d(33, 2)}T${d(26, 2)}:${d(62, 2)}:${d(62, 2)}.${d(1000, 3)}Z`;
    const b = Buffer.from(s, 'latin1');
    const got = tsParseMs(b, new DataView(b.buffer, b.byteOffset, b.length), 0);
    const want = Date.parse(s);
    if (!Number.isNaN(got)) assert.equal(got, want, s);
    else assert.ok(Number.isNaN(want) || s.slice(11, 13) === '24', s);
  }
});

test('DATA_KEYS names every data member FileAgg reads, and usesData every type whose data it reads', () => {
  const read = new Set<string>();
  const spy = (): Data =>
    new Proxy(Object.create(null) as Data, {
      get: (_t, k) => (typeof k === 'string' && read.add(k), undefined),
      getOwnPropertyDescriptor: (_t, k) => (typeof k === 'string' && read.add(k), undefined),
      has: (_t, k) => (typeof k === 'string' && read.add(k), false),
    });
  const agg = new FileAgg(new LocalClock('UTC'));
  const types = ['ai.completion.shown', 'ai.completion.accepted', 'ai.completion.partially_accepted', 'ai.completion.rejected', 'ai.completion.error', 'editor.document.change', 'editor.document.save', 'session.end', 'window.focus', 'editor.selection.change', 'editor.active.change', 'session.start', 'x.custom'];
  for (const type of types) {
    read.clear();
    agg.add({ t: NOW, type, sid: 's', source: 'vscode', data: spy() });
    if (!usesData(type)) assert.deepEqual([...read], [], `${type} reads no data`);
    else if (type !== 'ai.completion.error') assert.ok(read.size > 0, `the spy sees what ${type} reads`);
    for (const k of read) assert.ok(DATA_KEYS.includes(k), `${type} reads data.${k}, not in DATA_KEYS`);
  }
});
