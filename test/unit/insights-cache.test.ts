import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { stats, type StatsOptions } from '../../src/core/insights/stats';
import { CACHE_FORMAT, CACHE_VERSION, cachePathFor } from '../../src/core/insights/cache';
import { ai, edit, ev, figures, tmpEvents } from '../helpers/statsEvents';
import { repair } from '../../src/core/integrity/repair';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const H = 3_600_000;
const base = { timeZone: 'UTC', now: NOW, range: 'all' } as const;
const run = (file: string, o: Partial<StatsOptions> = {}) => stats({ file, ...base, ...o });
const fresh = (file: string) => run(file, { cache: false });

function events(from: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const t = from + i * 60_000;
    s += i % 3 === 0 ? ai(t, i % 2 ? 'accepted' : 'shown', { 'gen_ai.request.model': 'm', latency_ms: 50 + i }) : i % 3 === 1 ? edit(t, 'go', 30_000) : ev({ t, type: 'window.focus', data: { focused: true } });
  }
  return s;
}

function rotate(file: string, stamp: string): string {
  const to = path.join(path.dirname(file), `events.${stamp}-abcdef.jsonl`);
  fs.renameSync(file, to);
  return to;
}

test('cache: the second open reads nothing; a rotation keeps the file by identity; only new bytes of the live file are read', async () => {
  const { file } = tmpEvents(events(NOW - 50 * H, 300));
  const cold = await run(file);
  assert.deepEqual([cold.build!.rebuilt, cold.build!.written, cold.build!.cache], [1, true, 'missing']);
  assert.equal((fs.statSync(cachePathFor(file)).mode & 0o777).toString(8), '600');
  const warm = await run(file);
  assert.deepEqual([warm.build!.readBytes, warm.build!.reused, warm.build!.cache, warm.build!.written], [0, 1, 'loaded', false]);
  assert.deepEqual(figures(warm), figures(cold));

  // Rotated (renamed, same inode) and a new live file: the old one is not read again.
  const rotated = rotate(file, '20260310T000000000Z');
  fs.appendFileSync(rotated, events(NOW - 10 * H, 5)); // written by a writer that still held the old fd
  const extra = events(NOW - 5 * H, 40);
  fs.writeFileSync(file, extra);
  const after = await run(file);
  assert.equal(after.build!.readBytes, Buffer.byteLength(extra) + Buffer.byteLength(events(NOW - 10 * H, 5)));
  assert.deepEqual([after.build!.extended, after.build!.rebuilt], [1, 1]);
  assert.deepEqual(figures(after), figures(await fresh(file)));
  assert.equal(after.events, 345);
});

test('cache: corrupt, truncated, foreign and forged caches are ignored and rebuilt, never trusted', async () => {
  const { file } = tmpEvents(events(NOW - 20 * H, 120));
  const want = figures(await fresh(file));
  await run(file);
  const cache = cachePathFor(file);
  const good = fs.readFileSync(cache);
  const body = good.subarray(good.indexOf(10) + 1);
  const header = (b: Buffer, extra: Record<string, unknown> = {}) => JSON.stringify({ format: CACHE_FORMAT, version: CACHE_VERSION, timeZone: 'UTC', sha256: createHash('sha256').update(b).digest('hex'), bytes: b.length, ...extra }) + '\n';
  const forged = (list: unknown) => {
    const b = Buffer.from(JSON.stringify(list));
    return Buffer.concat([Buffer.from(header(b)), b]);
  };
  const entry = JSON.parse(body.toString()) as unknown[][];
  const withAgg = (agg: unknown) => forged([[...entry[0]!.slice(0, 7), agg]]);
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ['a flipped byte', Buffer.concat([good.subarray(0, good.length - 5), Buffer.from('X'), good.subarray(good.length - 4)]), /checksum mismatch/],
    ['cut in half', good.subarray(0, Math.floor(good.length / 2)), /checksum mismatch|no header/],
    ['empty', '', /no header/],
    ['not JSON', 'garbage\n[]', /header/],
    ['another format', '{"format":"x"}\n[]', /not a statistics cache/],
    ['a newer version', header(Buffer.from('[]'), { version: 99 }) + '[]', /version 99/],
    ['another time zone', header(Buffer.from('[]'), { timeZone: 'Asia/Tokyo' }) + '[]', /time zone Asia\/Tokyo/],
    ['a negative count', withAgg([-5, 0, [], [], []]), /bad count/],
    ['a non-string key', withAgg([1, 0, [Date.parse('2026-03-10T00:00:00Z'), [null, null, [{}, 1], [], [], [], null]], [], []]), /bad key/],
    ['a bad day', withAgg([1, 0, [], [], ['2026-3-1', [null, null, [], [], [], [], null]]]), /bad day/],
    ['a wrong shape', withAgg({ __proto__: { polluted: true } }), /file aggregate/],
    ['an impossible sketch', withAgg([1, 0, [0, [null, null, [], [], [['p', 'm', 'local', 'reported', 'go'], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, [0, 1e9, 1]]], [], null]], [], []]), /sketch/],
    ['a minute mask too long', withAgg([1, 0, [], [], ['2026-03-01', [null, null, [], [], [], ['go', [1, 1, 1, 1, 0, new Array(51).fill(1)]], null]]]), /minute mask/],
  ];
  for (const [what, bytes, why] of cases) {
    fs.writeFileSync(cache, bytes);
    const r = await run(file);
    assert.match(r.build!.cache, why, what);
    assert.match(r.build!.cache, /\(ignored\)/, what);
    assert.deepEqual(figures(r), want, what);
    assert.equal(r.build!.written, true, `${what}: replaced`);
    assert.equal((await run(file)).build!.cache, 'loaded', `${what}: the rewritten cache is whole`);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('cache: a replaced (repaired), truncated or rewritten-in-place file is read again; deleted rotated files drop out', async () => {
  const { dir, file } = tmpEvents(events(NOW - 30 * H, 90));
  const old = rotate(file, '20260309T000000000Z');
  fs.writeFileSync(file, events(NOW - 3 * H, 60));
  await run(file);
  // Repair-style replacement: same bytes, new inode.
  const copy = path.join(dir, 'tmp.jsonl');
  fs.copyFileSync(file, copy);
  fs.renameSync(copy, file);
  let r = await run(file);
  assert.deepEqual([r.build!.rebuilt, r.build!.reused], [1, 1]);
  // Truncated to fewer lines (same inode).
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  fs.writeFileSync(file, lines.slice(0, 10).join('\n') + '\n');
  r = await run(file);
  assert.equal(r.build!.rebuilt, 1);
  assert.deepEqual(figures(r), figures(await fresh(file)));
  // Same size, one line changed in place, and an mtime that moved.
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('"window.focus"', '"window.other"'));
  fs.utimesSync(file, new Date(NOW), new Date(NOW + 5000));
  r = await run(file);
  assert.equal(r.build!.rebuilt, 1);
  assert.equal(r.byType.find((t) => t.type === 'window.other')?.events, 1);
  // The rotated file is deleted by retention: its figures and its cache entry go.
  fs.unlinkSync(old);
  r = await run(file);
  assert.deepEqual(figures(r), figures(await fresh(file)));
  const cached = JSON.parse(fs.readFileSync(cachePathFor(file), 'utf8').split('\n')[1]!) as unknown[][];
  assert.deepEqual(cached.map((e) => e[0]), [file]);
});

test('cache: a symlink or FIFO at the cache path is neither followed, trusted nor written through; an unterminated line waits', { timeout: 30_000 }, async () => {
  const { dir, file } = tmpEvents(events(NOW - 2 * H, 30));
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'precious\n');
  fs.symlinkSync(victim, cachePathFor(file));
  const r = await run(file);
  assert.match(r.build!.cache, /symlink/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
  assert.ok(fs.lstatSync(cachePathFor(file)).isFile(), 'the link was replaced by the cache, the target untouched');
  // Half a line at the end of the live file is not counted (nor unreadable) until it is complete.
  const next = ev({ t: NOW - H, type: 'late.event' });
  fs.appendFileSync(file, next.slice(0, 30));
  const half = await run(file);
  assert.deepEqual([half.events, half.unreadableLines], [r.events, 0]);
  fs.appendFileSync(file, next.slice(30));
  const whole = await run(file);
  assert.deepEqual([whole.events, whole.unreadableLines, whole.build!.readBytes], [r.events + 1, 0, Buffer.byteLength(next)]);
  // In a rotated file the same cut line is unreadable (it will never be finished), as verify says.
  fs.appendFileSync(file, 'cut short');
  rotate(file, '20260310T010000000Z');
  fs.writeFileSync(file, '');
  assert.equal((await run(file)).unreadableLines, 1);
  assert.equal((await run(file)).unreadableLines, 1);
  // A FIFO at the cache path neither hangs the open nor is trusted.
  fs.rmSync(cachePathFor(file));
  spawnSync('mkfifo', [cachePathFor(file)]);
  const fifo = await run(file);
  assert.match(fifo.build!.cache, /not a regular file/);
  assert.ok(fs.lstatSync(cachePathFor(file)).isFile(), 'replaced by the cache');
  const stale = `${cachePathFor(file)}.0123456789ab.tmp`;
  fs.writeFileSync(stale, 'left by a killed writer');
  fs.utimesSync(stale, new Date(Date.now() - 3600e3), new Date(Date.now() - 3600e3));
  fs.appendFileSync(file, ev({ t: NOW, type: 'x.y' }));
  await run(file);
  assert.equal(fs.existsSync(stale), false, 'stale temp files of the cache are removed');
});

test('cache: not written into a folder owned by someone else, nor read when owned by someone else (root only)', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async () => {
  const { dir, file } = tmpEvents(events(NOW - 2 * H, 30));
  await run(file);
  fs.chownSync(cachePathFor(file), 65534, 65534);
  const r = await run(file);
  assert.match(r.build!.cache, /owned by another user/);
  fs.chownSync(dir, 65534, 65534);
  fs.appendFileSync(file, ev({ t: NOW, type: 'x.y' }));
  const w = await run(file);
  assert.equal(w.build!.cacheWriteError?.code, 'ERR_CACHE_UNSAFE');
  assert.equal(w.events, r.events + 1, 'the figures are still right');
});

test("cache: a window that read only today's files keeps the entries another wrote for the older ones", async () => {
  const { file } = tmpEvents(events(NOW - 72 * H, 60));
  const old = rotate(file, '20260307T000000000Z');
  fs.utimesSync(old, new Date(NOW - 72 * H), new Date(NOW - 72 * H));
  fs.writeFileSync(file, events(NOW - 2 * H, 20));
  const { StatsStore } = await import('../../src/core/insights/store');
  const a = new StatsStore(file, { timeZone: 'UTC', now: () => NOW });
  const ia = await a.refresh({ since: NOW - 12 * H }); // the status bar: today's files only
  assert.deepEqual([ia.skipped, ia.files.length], [1, 1]);
  const b = new StatsStore(file, { timeZone: 'UTC', now: () => NOW });
  await b.refresh();
  assert.equal(b.persist().written, true);
  fs.appendFileSync(file, events(NOW - H, 5));
  await a.refresh({ since: NOW - 12 * H });
  assert.equal(a.persist().written, true);
  const entries = () => (JSON.parse(fs.readFileSync(cachePathFor(file), 'utf8').split('\n')[1]!) as unknown[][]).map((e) => e[0]).sort();
  assert.deepEqual(entries(), [old, file].sort(), "b's entry for the rotated file survived a's write");
  const c = await run(file);
  assert.deepEqual([c.build!.readBytes, c.build!.reused], [0, 2], 'a new window starts warm');
  fs.unlinkSync(old);
  fs.appendFileSync(file, events(NOW - H, 1));
  await a.refresh({ since: NOW - 12 * H });
  a.persist();
  assert.deepEqual(entries(), [file], 'an entry whose file is gone is not carried over');
});

test('cache: a repair that moves bytes (same inode, same ends) invalidates the entry: stats again = a no-cache run', async () => {
  // Every line the same bytes (a period of L), the damaged line L long too: after the repair and one
  // more line appended, the file keeps its inode, grows past the cached offset, and the first and last
  // 4 KiB before that offset are byte for byte what the cache fingerprinted — only the epoch tells.
  const x = ai(NOW - 2 * H, 'accepted', { 'gen_ai.request.model': 'm', latency_ms: 80 });
  const junk = 'j'.repeat(x.length - 1) + '\n';
  const { file } = tmpEvents(x.repeat(200) + junk + x.repeat(200));
  const before = await run(file);
  assert.equal(before.unreadableLines, 1);
  const ino = fs.statSync(file).ino;
  const r = await repair({ file });
  assert.equal(r.clean, false, 'the repair moved the damaged line out');
  fs.appendFileSync(file, x + x);
  assert.equal(fs.statSync(file).ino, ino, 'repaired in place');
  const after = await run(file);
  assert.equal(after.build!.rebuilt, 1, 'the entry made before the repair was not reused');
  assert.deepEqual(figures(after), figures(await fresh(file)));
  assert.equal(after.unreadableLines, 0);
  const warm = await run(file);
  assert.deepEqual([warm.build!.readBytes, warm.build!.reused], [0, 1], 'the entry made under the new epoch is reused');
});
