import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { stats } from '../../src/core/insights/stats';
import { Sketch, RELATIVE_ERROR } from '../../src/core/insights/sketch';
import { LocalClock } from '../../src/core/insights/clock';
import { acceptanceRate } from '../../src/core/insights/report';
import { ai, edit, ev, tmpEvents } from '../helpers/statsEvents';
import { rng } from '../helpers/random';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const H = 3_600_000;
const UTC = { timeZone: 'UTC', cache: false, now: NOW } as const;

function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

test('sketch (seed 7): quantiles within the stated 1 % of the exact nearest-rank ones, merged or not, after a cache round trip', () => {
  const r = rng(7);
  const values = Array.from({ length: 20_000 }, () => Math.exp(r() * 9) / 3); // 0.33 ms … 2.7 s, skewed
  const a = new Sketch();
  const b = new Sketch();
  values.forEach((v, i) => (i % 2 ? a : b).add(v));
  const merged = new Sketch();
  merged.merge(a);
  merged.merge(b);
  const roundTrip = Sketch.decode(JSON.parse(JSON.stringify(merged.encode())));
  const sorted = [...values].sort((x, y) => x - y);
  const qs = [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1];
  for (const s of [merged, roundTrip]) {
    s.quantiles(qs).forEach((got, i) => {
      const want = nearestRank(sorted, qs[i]!);
      assert.ok(Math.abs(got! - want) <= RELATIVE_ERROR * want + 1e-9, `q${qs[i]}: ${got} vs ${want}`);
    });
    assert.equal(s.count, values.length);
  }
  assert.deepEqual(new Sketch().quantiles([0.5]), [undefined]);
  const z = new Sketch();
  z.add(0);
  z.add(-1);
  z.add(NaN);
  assert.deepEqual([z.count, z.quantiles([0.5])[0]], [1, 0], 'zero counts, negatives and NaN do not');
  assert.throws(() => Sketch.decode([0, 5, 1.5]), /bad count/);
  const sparse = new Sketch();
  sparse.add(1);
  sparse.add(1000);
  const enc = sparse.encode();
  assert.ok(enc.length === 5 && enc[3]! < 0, `empty buckets are one run: ${JSON.stringify(enc)}`);
  assert.deepEqual(Sketch.decode(enc).quantiles([0.5, 1]), sparse.quantiles([0.5, 1]));
  assert.throws(() => Sketch.decode([0, 1e9, 1]), /bad offset/);
});

test('acceptance rate: today\'s rules for reported events', () => {
  assert.equal(acceptanceRate(4, 1, 1), 0.25, 'accepted / shown');
  assert.equal(acceptanceRate(1, 2, 1), 0.667, 'more accepts than shows: accepted / (accepted + rejected)');
  assert.equal(acceptanceRate(0, 3, 1), 0.75, 'no shows');
  assert.equal(acceptanceRate(0, 0, 0), null);
});

test('AI figures with known answers: by model, locality, language, detection; rates, chars, lines, tokens, latency', async () => {
  const t = NOW - 2 * H;
  const qwen = { 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen2.5-coder:7b', is_local: true, language_id: 'python' };
  const gpt = { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', is_local: false, language_id: 'typescript' };
  let s = '';
  for (let i = 0; i < 10; i++) s += ai(t + i, 'shown', { ...qwen, latency_ms: 100 + 10 * i, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20 });
  for (const c of [10, 20, 30]) s += ai(t, 'accepted', { ...qwen, chars: c, lines: c / 10 });
  s += ai(t, 'partially_accepted', { ...qwen, chars: 5, lines: 1 }) + ai(t, 'rejected', qwen) + ai(t, 'rejected', qwen) + ai(t, 'error', qwen);
  for (let i = 0; i < 4; i++) s += ai(t, 'shown', gpt);
  for (let i = 0; i < 5; i++) s += ai(t, 'accepted', gpt);
  s += ai(t, 'rejected', gpt);
  for (let i = 0; i < 3; i++) s += ai(t, 'accepted', { detection: 'heuristic', confidence: 0.8, chars: 12, lines: 1, language_id: 'python' });
  s += ev({ t, type: 'ai.completion.bogus_kind', data: { kind: 'bogus' } });
  const { file } = tmpEvents(s);
  const r = await stats({ file, range: '24h', ...UTC });
  const a = r.ai!;
  assert.deepEqual([a.totals.shown, a.totals.accepted, a.totals.partiallyAccepted, a.totals.rejected, a.totals.errors], [14, 11, 1, 3, 1]);
  assert.equal(a.totals.acceptanceRate, 0.643, 'reported: (3 + 1 + 5) / 14 shown; the heuristic accepts are left out');
  const row = (p: string) => a.byModel.find((m) => m.provider === p)!;
  const q = row('ollama');
  assert.deepEqual([q.model, q.isLocal, q.acceptanceRate, q.charsAccepted, q.linesAccepted, q.inputTokens, q.outputTokens], ['qwen2.5-coder:7b', true, 0.4, 65, 7, 1000, 200]);
  assert.equal(q.latencyMs!.count, 10);
  for (const [got, want] of [[q.latencyMs!.p50, 140], [q.latencyMs!.p95, 190], [q.latencyMs!.p99, 190]] as const) assert.ok(Math.abs(got - want) <= want * RELATIVE_ERROR + 0.01, `${got} vs ${want}`);
  assert.deepEqual([row('openai').acceptanceRate, row('openai').isLocal, row('openai').latencyMs], [0.833, false, null]);
  assert.deepEqual([row('unknown').model, row('unknown').isLocal, row('unknown').acceptanceRate, row('unknown').accepted], ['unknown', null, null, 3]);
  assert.deepEqual(new Map(a.byLocality.map((x) => [x.isLocal, x.shown + x.accepted])), new Map<boolean | null, number>([[true, 13], [false, 9], [null, 3]]));
  assert.deepEqual(a.byDetection.map((x) => [x.detection, x.accepted]).sort(), [['heuristic', 3], ['reported', 8]]);
  assert.deepEqual(a.byLanguage.map((x) => [x.language, x.shown]).sort(), [['python', 10], ['typescript', 4]]);
  assert.equal(a.byDay.length, 1);
  assert.equal(a.groups.reduce((n, g) => n + g.shown, 0), 14);
  assert.equal(r.events, 31, 'every line is an event, the unknown AI kind too');
  assert.equal(r.byType.find((x) => x.type === 'ai.completion.bogus_kind')!.events, 1);
});

test('ranges: last 24 h, 7 d, 30 d and all; a future timestamp only in all', async () => {
  const at = [NOW - 1 * H, NOW - 30 * H, NOW - 3 * 24 * H, NOW - 10 * 24 * H, NOW - 40 * 24 * H, NOW + 3 * 24 * H];
  const { file } = tmpEvents(at.map((t) => ev({ t, type: 'x.y' })).join('') + 'not json\n');
  const counts: Record<string, number> = {};
  for (const range of ['24h', '7d', '30d', 'all'] as const) {
    const r = await stats({ file, range, ...UTC });
    counts[range] = r.events;
    assert.equal(r.unreadableLines, 1);
  }
  assert.deepEqual(counts, { '24h': 1, '7d': 3, '30d': 4, all: 6 });
  const d7 = await stats({ file, range: '7d', ...UTC });
  assert.deepEqual(d7.series.buckets.map((b) => b.key), ['2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
  assert.equal(d7.series.buckets[0]!.label, 'Wed, Mar 4', 'readable labels, not ISO stamps');
  assert.deepEqual([d7.range.from, d7.range.to], ['2026-03-04T00:00:00.000Z', '2026-03-11T00:00:00.000Z']);
  const h24 = await stats({ file, range: '24h', ...UTC });
  assert.equal(h24.series.buckets.length, 24);
  assert.equal(h24.series.buckets[23]!.label, '12:00');
});

test('day buckets across DST in America/New_York and Europe/Berlin: 23- and 25-hour days, hour labels', async () => {
  const hourly = (from: string, hours: number): string => Array.from({ length: hours }, (_, i) => ev({ t: Date.parse(from) + i * H, type: 'x.y' })).join('');
  // New York springs forward on 2026-03-08 (02:00 → 03:00) and falls back on 2026-11-01.
  const { file } = tmpEvents(hourly('2026-03-07T05:00:00Z', 72) + hourly('2026-10-31T04:00:00Z', 72));
  const ny = await stats({ file, range: 'all', ...UTC, timeZone: 'America/New_York' });
  const perDay = Object.fromEntries(ny.series.buckets.map((b, i) => [b.key, ny.series.categories[0]!.counts[i]]).filter(([, v]) => v));
  assert.deepEqual(perDay, { '2026-03-07': 24, '2026-03-08': 23, '2026-03-09': 24, '2026-03-10': 1, '2026-10-31': 24, '2026-11-01': 25, '2026-11-02': 23 });
  const spring = await stats({ file, range: '24h', timeZone: 'America/New_York', cache: false, now: Date.parse('2026-03-08T14:30:00Z') });
  const labels = spring.series.buckets.map((b) => b.label);
  assert.equal(labels.length, 24);
  assert.ok(labels.includes('01:00') && labels.includes('03:00') && !labels.includes('02:00'), labels.join(' '));
  const berlin = new LocalClock('Europe/Berlin');
  // Berlin falls back on 2026-10-25: 02:00–03:00 happens twice, so the day has 25 hour buckets.
  const starts = new Set(Array.from({ length: 26 }, (_, i) => berlin.hourStart(Date.parse('2026-10-24T22:00:00Z') + i * H)).filter((h) => berlin.dayKey(h) === '2026-10-25'));
  assert.equal(starts.size, 25);
  assert.deepEqual([...starts].map((h) => berlin.hourLabel(h)).filter((l) => l === '02:00').length, 2);
  assert.equal(new Date(berlin.startOfDay('2026-10-25')).toISOString(), '2026-10-24T22:00:00.000Z');
  const kathmandu = new LocalClock('Asia/Kathmandu'); // +05:45: local hours start at :15 UTC
  assert.equal(new Date(kathmandu.hourStart(Date.parse('2026-03-10T00:00:00Z'))).toISOString(), '2026-03-09T23:15:00.000Z');
});

test('TZ= reaches the default clock through Node\'s ICU (a child process per zone)', () => {
  const clock = path.join(__dirname, '..', '..', 'src', 'core', 'insights', 'clock.js');
  const probe = `const { LocalClock } = require(${JSON.stringify(clock)}); const c = new LocalClock(); console.log(c.timeZone + ' ' + c.dayKey(Date.parse('2026-03-08T04:30:00Z')));`;
  for (const [tz, want] of [['America/New_York', 'America/New_York 2026-03-07'], ['Asia/Tokyo', 'Asia/Tokyo 2026-03-08'], ['UTC', 'UTC 2026-03-08']]) {
    const r = spawnSync(process.execPath, ['-e', probe], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), want, r.stderr);
  }
});

test('editor activity: bursts mark the local minutes they span; a minute in two languages counts once in the day', async () => {
  const t0 = Date.parse('2026-03-10T10:00:00Z');
  const s =
    edit(t0 + 30_000, 'python', 20_000) + // 10:00
    edit(t0 + 50_000, 'typescript', 5_000) + // 10:00 as well
    edit(t0 + 5 * 60_000 + 10_000, 'python', 130_000) + // 10:03, 10:04, 10:05
    edit(t0 + 61 * 60_000, 'python', 120_000, { changes: 7, chars_inserted: 40, chars_deleted: 3 }) + // 10:59, 11:00, 11:01
    edit(t0 + 2 * H, 'rust', 1e15) + // a hostile duration is capped at 6 h (361 minutes)
    ev({ t: t0, type: 'editor.document.save', data: { language_id: 'python' } });
  const { file } = tmpEvents(s);
  const r = await stats({ file, range: 'all', ...UTC });
  const e = r.editor!;
  const lang = (l: string) => e.byLanguage.find((x) => x.language === l)!;
  assert.equal(lang('python').activeMinutes, 7);
  assert.equal(lang('typescript').activeMinutes, 1);
  assert.equal(lang('rust').activeMinutes, 361);
  assert.deepEqual([lang('python').bursts, lang('python').edits, lang('python').charsInserted, lang('python').charsDeleted, lang('python').saves], [3, 9, 42, 3, 1]);
  // 10:00 once, 10:03–10:05, 10:59–11:01, and rust's 06:00–12:00 (which covers all of those).
  assert.equal(e.totals.activeMinutes, 361);
  const before = e.byDay.find((d) => d.day === '2026-03-10')!;
  assert.equal(before.activeMinutes, 361);
});

test('AI today and the incremental store agree with a full read after every append (seed 11)', async () => {
  const r = rng(11);
  const { file } = tmpEvents();
  const { StatsStore } = await import('../../src/core/insights/store');
  const store = new StatsStore(file, { timeZone: 'Europe/Berlin', cacheFile: path.join(path.dirname(file), 'c.cache'), now: () => NOW });
  const kinds = ['shown', 'accepted', 'rejected', 'partially_accepted', 'error'];
  for (let round = 0; round < 4; round++) {
    let s = '';
    for (let i = 0; i < 250; i++) {
      const t = NOW - Math.floor(r() * 40 * 24) * H - Math.floor(r() * H);
      if (r() < 0.5) s += ai(t, kinds[Math.floor(r() * 5)]!, { 'gen_ai.request.model': `m${Math.floor(r() * 3)}`, is_local: r() < 0.5, latency_ms: Math.floor(r() * 900), language_id: r() < 0.5 ? 'go' : 'c' });
      else s += edit(t, r() < 0.5 ? 'go' : 'c', Math.floor(r() * 200_000));
    }
    // Half a line at the end: not counted until it is complete.
    const cut = round % 2 ? Math.floor(s.length - 20) : s.length;
    fs.appendFileSync(file, s.slice(0, cut));
    await store.refresh();
    fs.appendFileSync(file, s.slice(cut));
    const info = await store.refresh();
    store.persist();
    assert.ok(info.readBytes <= s.length + 1, 'only the new bytes were read');
    for (const range of ['24h', '7d', '30d', 'all'] as const) {
      const full = await stats({ file, range, timeZone: 'Europe/Berlin', cache: false, now: NOW });
      const { build: _b, ...inc } = { ...store.report(range, NOW), build: undefined };
      void _b;
      const { build: _c, ...ref } = full;
      void _c;
      assert.deepEqual(inc, ref, `round ${round}, range ${range}`);
    }
  }
  const all = await stats({ file, range: 'all', timeZone: 'Europe/Berlin', cache: false, now: NOW });
  const day = all.ai!.byDay.find((d) => d.day === '2026-03-10')!;
  const today = store.today(NOW)!;
  assert.deepEqual([today.accepted, today.shown, today.acceptanceRate], [day.accepted, day.shown, day.acceptanceRate]);
});

test('folding old hours into days changes no figure, across a DST change too (seed 5, Europe/Berlin)', async () => {
  const r = rng(5);
  const now = Date.parse('2026-04-05T12:00:00Z'); // Berlin springs forward on 2026-03-29
  let s = '';
  for (let i = 0; i < 1500; i++) {
    const t = now - Math.floor(r() * 30 * 24 * H);
    if (r() < 0.5) s += ai(t, ['shown', 'accepted', 'rejected'][Math.floor(r() * 3)]!, { 'gen_ai.request.model': `m${Math.floor(r() * 2)}`, latency_ms: Math.floor(r() * 500), language_id: r() < 0.5 ? 'go' : 'c' });
    else s += edit(t, r() < 0.5 ? 'go' : 'c', Math.floor(r() * 400_000));
  }
  const { file } = tmpEvents(s);
  const { StatsStore } = await import('../../src/core/insights/store');
  const make = async (foldAt: number) => {
    const st = new StatsStore(file, { timeZone: 'Europe/Berlin', cacheFile: null, now: () => foldAt });
    await st.refresh();
    return st;
  };
  const hours = await make(0); // nothing is old enough to fold
  const recent = await make(now); // the default: hours of the last two days stay
  const folded = await make(now + 365 * 24 * H); // everything folded into days
  assert.equal(folded.current[0]!.agg.hours.size, 0);
  assert.ok(hours.current[0]!.agg.days.size === 0 && recent.current[0]!.agg.days.size > 0);
  for (const range of ['7d', '30d', 'all'] as const) {
    assert.deepEqual(folded.report(range, now), hours.report(range, now), range);
    assert.deepEqual(recent.report(range, now), hours.report(range, now), range);
  }
  assert.deepEqual(recent.report('24h', now), hours.report('24h', now), '24h');
});
