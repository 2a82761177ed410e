/**
 * SessionLedger / SessionTrack on their own: hand-made cases, a seeded comparison with the
 * gap-splitting algorithm verify used before (kept here as the oracle), and the on-disk tier
 * against the in-memory one.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LedgerOut, LedgerProblem, LedgerTotals, SessionLedger, SessionTrack } from '../../src/core/integrity/ledger';
import { intRng as rng } from '../helpers/random';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_007);
console.log(`session-ledger: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
interface Collected extends LedgerOut {
  problems: LedgerProblem[];
  warnings: LedgerProblem[];
}
function collector(): Collected {
  const totals: LedgerTotals = { lost: 0, dropped: 0, duplicates: 0, outOfOrder: 0, warnings: 0, badDropNotices: 0 };
  const c: Collected = { totals, problems: [], warnings: [], problem: (p) => c.problems.push(p), warning: (p) => c.warnings.push(p) };
  return c;
}
const brief = (p: LedgerProblem): string => `${p.code} seq=${p.seq} ord=${p.ord}${p.code === 'lost' ? ` missing=${p.a} to=${p.b} covered=${p.c}` : ''}${p.code === 'out_of_order' ? ` after=${p.a}` : ''}`;

/** events: [seq, ts] in file order (ord = index); drops: [from, to] trusted notices. */
function track(events: Array<[number, number]>, drops: Array<[number, number]> = []): Collected {
  const out = collector();
  const t = new SessionTrack('s');
  events.forEach(([seq, ts], ord) => t.event(seq, ts, ord, ord * 100, out));
  drops.forEach(([a, b], k) => t.notice(10_000 + k, a, b, events.length + k, 0));
  t.finish(out);
  return out;
}

test('track: in order is clean; a gap is lost; a late fill is out of order; a repeat is a duplicate', () => {
  assert.deepEqual(track([[0, 1], [1, 2], [2, 3]]).problems, []);
  const gap = track([[5, 1], [6, 1], [9, 1], [10, 1]]);
  assert.deepEqual(gap.problems.map(brief), ['lost seq=7 ord=2 missing=2 to=8 covered=0']);
  assert.equal(gap.totals.lost, 2);
  const late = track([[0, 1], [3, 1], [1, 1], [2, 1], [2, 1]]);
  assert.deepEqual(late.problems.map(brief), ['out_of_order seq=1 ord=2 after=3', 'out_of_order seq=2 ord=3 after=3', 'duplicate seq=2 ord=4']);
  assert.equal(late.totals.lost, 0);
  const before = track([[5, 1], [3, 1]]);
  assert.deepEqual(before.problems.map(brief), ['duplicate seq=3 ord=1'], 'behind the baseline and in no gap: reported as a repeat, as before');
  const back = track([[0, 5], [1, 2]]);
  assert.deepEqual(back.warnings.map((w) => [w.code, w.a, w.b]), [['ts_backwards', 2, 5]]);
});

test('track: a fill in the middle of a gap leaves two lost parts; drops cover parts; overlapping notices are flagged', () => {
  const mid = track([[0, 1], [10, 1], [5, 1]]);
  assert.deepEqual(mid.problems.map(brief), ['out_of_order seq=5 ord=2 after=10', 'lost seq=1 ord=1 missing=4 to=4 covered=0', 'lost seq=6 ord=1 missing=4 to=9 covered=0']);
  const covered = track([[0, 1], [10, 1]], [[1, 3], [7, 9]]);
  assert.deepEqual(covered.problems.map(brief), ['lost seq=1 ord=1 missing=3 to=9 covered=6']);
  assert.equal(covered.totals.dropped, 6);
  const overlap = track([[0, 1], [10, 1]], [[1, 9], [5, 6]]);
  assert.deepEqual(overlap.problems.map((p) => p.code), ['bad_drop_notice']);
  assert.match(overlap.problems[0]!.why!, /overlaps 1–9/);
  assert.equal(overlap.totals.dropped, 9, 'the first notice still counts');
  assert.equal(overlap.totals.badDropNotices, 1);
});

/** The algorithm verify used before the ledger (split a gap at every fill), as the oracle. */
function oracle(events: Array<[number, number]>, drops: Array<[number, number]>): string[] {
  const out: string[] = [];
  let next = NaN;
  const gaps: Array<{ from: number; to: number; ord: number }> = [];
  events.forEach(([seq], ord) => {
    if (ord === 0) next = seq;
    if (seq === next) next++;
    else if (seq > next) {
      gaps.push({ from: next, to: seq - 1, ord });
      next = seq + 1;
    } else {
      const g = gaps.find((x) => seq >= x.from && seq <= x.to);
      if (g) {
        out.push(`out_of_order seq=${seq} ord=${ord} after=${next - 1}`);
        const parts = [];
        if (seq > g.from) parts.push({ ...g, to: seq - 1 });
        if (seq < g.to) parts.push({ ...g, from: seq + 1 });
        gaps.splice(gaps.indexOf(g), 1, ...parts);
      } else out.push(`duplicate seq=${seq} ord=${ord}`);
    }
  });
  for (const g of gaps) {
    let covered = 0;
    for (const [a, b] of drops) covered += Math.max(0, Math.min(b, g.to) - Math.max(a, g.from) + 1);
    const missing = g.to - g.from + 1 - Math.min(covered, g.to - g.from + 1);
    if (missing > 0) out.push(`lost seq=${g.from} ord=${g.ord} missing=${missing} to=${g.to} covered=${Math.min(covered, g.to - g.from + 1)}`);
  }
  return out;
}

test('track: seeded random streams give what the old gap-splitting algorithm gave', () => {
  const r = rng(SEED);
  for (let round = 0; round < 400; round++) {
    const n = 1 + r(60);
    const events: Array<[number, number]> = [];
    let s = r(5);
    for (let i = 0; i < n; i++) {
      const k = r(10);
      if (k < 6) events.push([s++, i]);
      else if (k < 8) events.push([(s += 1 + r(6)), i]);
      else events.push([Math.max(0, s - 1 - r(12)), i]);
    }
    // Disjoint notices somewhere in the range.
    const drops: Array<[number, number]> = [];
    for (let a = r(8); a < s; a += 1 + r(10)) {
      if (r(3) > 0) continue;
      drops.push([a, a + r(3)]);
      a = drops[drops.length - 1]![1] + 1;
    }
    const got = track(events, drops).problems.map(brief);
    assert.deepEqual(got, oracle(events, drops), `seed ${SEED}, round ${round}: ${JSON.stringify({ events: events.map((e) => e[0]), drops })}`);
  }
});

test('track: 200,000 late events filling one gap in random order are each one out-of-order, nothing lost (linear, no rescans)', () => {
  const r = rng(SEED);
  const n = 200_000;
  const late = Array.from({ length: n - 1 }, (_, i) => i + 1);
  for (let i = late.length - 1; i > 0; i--) {
    const j = r(i + 1);
    [late[i], late[j]] = [late[j]!, late[i]!];
  }
  const out = collector();
  const t = new SessionTrack('s');
  t.event(0, 0, 0, 0, out);
  t.event(n, 0, 1, 0, out);
  late.forEach((seq, k) => t.event(seq, 0, k + 2, 0, out));
  t.finish(out);
  assert.equal(out.totals.outOfOrder, n - 1);
  assert.equal(out.totals.lost, 0);
  assert.equal(out.totals.duplicates, 0);
});

test('ledger: sessions tracked on disk report exactly what in-memory tracking reports', () => {
  const sids = Array.from({ length: 40 }, (_, k) => `session-${k}`);
  const next = new Array<number>(sids.length).fill(0);
  const run = (maxInMemory: number, runRecords?: number): { problems: string[]; warnings: string[]; totals: LedgerTotals; sessions: number; spilled: number } => {
    const out = collector();
    const ledger = new SessionLedger(out, maxInMemory, runRecords);
    const rr = rng(SEED);
    next.fill(0);
    for (let ord = 0; ord < 20_000; ord++) {
      const k = rr(sids.length);
      const ref = ledger.resolve(sids[k]!);
      const x = rr(20);
      const seq = x < 16 ? next[k]!++ : x < 18 ? (next[k]! += 2 + rr(4)) : Math.max(0, next[k]! - 1 - rr(6));
      ledger.event(ref, seq, 1000 + ord - (rr(50) === 0 ? 500 : 0), ord, ord * 300);
      if (rr(400) === 0 && seq > 3) ledger.notice(ref, seq, seq - 3, seq - 2, ord, ord * 300);
    }
    const spilled = ledger.spilledEvents;
    const sessions = ledger.finish();
    const key = (p: LedgerProblem): string => JSON.stringify({ ...p, sid: undefined });
    return { problems: out.problems.map(key).sort(), warnings: out.warnings.map(key).sort(), totals: out.totals, sessions, spilled };
  };
  const inMemory = run(1e9);
  assert.equal(inMemory.spilled, 0);
  assert.ok(inMemory.problems.length > 100, `${inMemory.problems.length} problems to compare`);
  for (const [max, runRecords] of [[0, 1000], [7, 333], [0, undefined]] as const) {
    const mixed = run(max, runRecords);
    assert.ok(mixed.spilled > 0, 'some sessions were tracked on disk');
    assert.deepEqual({ ...mixed, spilled: 0 }, { ...inMemory, spilled: 0 }, `seed ${SEED}, ${max} sessions in memory, runs of ${runRecords}`);
  }
});
