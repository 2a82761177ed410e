import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, seqReport } from '../helpers/analyze';
import { CLI, FIXTURES, lastJson, run, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { listRotated } from '../../src/core/sink/rotation';
import { FLOCK_VARIANTS, LOCK_VARIANTS, LockVariant } from '../helpers/providers';
import { flock1Writer } from '../helpers/criticalSection';

interface WriterDone {
  sid: string;
  pending: number;
  stats: { accepted: number; written: number; dropped: { total: number }; tornTailsFenced: number; rotations: number; reopens: number; backend: string; lockProvider: string | null };
}

/** Every writer ran with the variant's backend and provider (no silent fallback). */
function assertVariant(outs: Array<{ stdout: string }>, v: LockVariant): void {
  for (const o of outs) {
    const st = lastJson<WriterDone>(o.stdout).stats;
    assert.equal(st.backend, v.lock);
    assert.equal(st.lockProvider, v.provider ?? null);
  }
}

function assertComplete(files: string[], sids: string[], expectedPerSid: number | ((sid: string) => number)): void {
  const a = analyze(files);
  assert.deepEqual(a.invalid, [], 'every line parses');
  assert.equal(a.crcBad, 0, 'every crc matches');
  for (const sid of sids) {
    const r = seqReport(a.bySid.get(sid) ?? []);
    const want = typeof expectedPerSid === 'number' ? expectedPerSid : expectedPerSid(sid);
    assert.deepEqual(r.duplicates, [], `no duplicate seq for ${sid}`);
    assert.deepEqual(r.missing, [], `no missing seq for ${sid}`);
    assert.equal(r.count, want, `all ${want} events of ${sid}`);
  }
}

for (const v of LOCK_VARIANTS) {
  test(`${v.name}: the seed's scenario, 10 processes × 50 events, all lines valid, every (sid, seq) once`, { timeout: 60_000 }, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.jsonl');
    const ws = Array.from({ length: 10 }, () => writer({ file, count: 50, flushEvery: 1, lock: v.lock }, v.env));
    const results = await Promise.all(ws.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assertVariant(results, v);
    const sids = await Promise.all(ws.map((w) => w.sid));
    // 50 events + session.start + session.end
    assertComplete([file], sids, 52);
  });
}

test('16 processes × 10,000 events through `telemetry-sink record`', { timeout: 240_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const procs = Array.from({ length: 16 }, (_, p) => {
    const input = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ type: 'stress.cli', data: { p, i } })).join('\n') + '\n';
    return run(process.execPath, [CLI, 'record', '--file', file], { input });
  });
  const results = await Promise.all(procs.map((p) => p.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const a = analyze([file]);
  assert.deepEqual(a.invalid, []);
  assert.equal(a.crcBad, 0);
  assert.equal(a.bySid.size, 16);
  for (const [sid, seqs] of a.bySid) {
    const r = seqReport(seqs);
    assert.equal(r.count, 10_002, `session ${sid}: 10,000 events + session.start + session.end`);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.duplicates, []);
  }
  // And each process's payloads are all there, in order within the session.
  const byP = new Map<number, number[]>();
  for (const v of a.valid) if (v.type === 'stress.cli') (byP.get(v.data.p as number) ?? byP.set(v.data.p as number, []).get(v.data.p as number)!).push(v.data.i as number);
  for (const [p, is] of byP) assert.deepEqual(is, Array.from({ length: 10_000 }, (_, i) => i), `process ${p} in order`);
});

for (const v of FLOCK_VARIANTS) {
  test(`${v.name}: rotation while 8 processes write, nothing lost or duplicated across the rotated set`, { timeout: 120_000 }, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.jsonl');
    const ws = Array.from({ length: 8 }, () => writer({ file, count: 4000, rotateBytes: 256 * 1024, burst: 50, lock: v.lock }, v.env));
    const results = await Promise.all(ws.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assertVariant(results, v);
    const sids = await Promise.all(ws.map((w) => w.sid));
    const rotated = listRotated(file);
    assert.ok(rotated.length >= 10, `rotated ${rotated.length} times`);
    for (const r of rotated) assert.ok(r.size <= 256 * 1024, `rotated file ${r.path} is ${r.size} bytes`);
    assertComplete([...rotated.map((r) => r.path), file], sids, 4002);
    const stats = results.map((r) => lastJson<WriterDone>(r.stdout).stats);
    assert.ok(stats.reduce((a, s) => a + s.reopens, 0) > 0, 'writers noticed rotations by others and reopened');
  });

  test(`${v.name}: seed-style Python writers and flock(1) writers share the file with ours, 0 corrupt lines`, { timeout: 120_000 }, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.jsonl');
    const py = Array.from({ length: 4 }, () => run('python3', [path.join(FIXTURES, 'seed_writer.py'), file, '1500']));
    const sh = flock1Writer(file, 300);
    const ws = Array.from({ length: 4 }, () => writer({ file, count: 3000, burst: 20, eventBytes: 4000, lock: v.lock }, v.env));
    const pyDone = await Promise.all(py.map((p) => p.done));
    const wDone = await Promise.all(ws.map((w) => w.done));
    const shDone = await sh.done;
    for (const r of [...pyDone, ...wDone, shDone]) assert.equal(r.code, 0, r.stderr);
    assertVariant(wDone, v);
    const pySids = pyDone.map((r) => lastJson<{ sid: string }>(r.stdout).sid);
    const nodeSids = await Promise.all(ws.map((w) => w.sid));
    assertComplete([file], [...pySids, ...nodeSids, sh.sid], (sid) => (pySids.includes(sid) ? 1500 : sid === sh.sid ? 300 : 3002));
  });

  test(`${v.name}: mixed lock backends (4 flock + 4 lockfile writers), every event once, no corrupt line`, { timeout: 120_000 }, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.jsonl');
    const ws = [
      ...Array.from({ length: 4 }, () => writer({ file, count: 3000, lock: 'flock', burst: 40 }, v.env)),
      ...Array.from({ length: 4 }, () => writer({ file, count: 3000, lock: 'lockfile', burst: 40 })),
    ];
    const results = await Promise.all(ws.map((w) => w.done));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assertVariant(results.slice(0, 4), v);
    const backends = results.map((r) => lastJson<WriterDone>(r.stdout).stats.backend).sort();
    assert.deepEqual(backends, ['flock', 'flock', 'flock', 'flock', 'lockfile', 'lockfile', 'lockfile', 'lockfile']);
    assertComplete([file], await Promise.all(ws.map((w) => w.sid)), 3002);
  });
}

test('mixed flock providers (4 fs-ext + 4 koffi writers, slow chunked writes): every event once, no corrupt line', { timeout: 120_000 }, async () => {
  // 256-byte writes with pauses keep each batch in flight for milliseconds: writers that did not
  // exclude each other would interleave chunks and corrupt lines.
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const ws = FLOCK_VARIANTS.flatMap((v) => Array.from({ length: 4 }, () => writer({ file, count: 1500, lock: 'flock', burst: 30, paceMs: 2, slowWrite: true, rotateBytes: 512 * 1024 }, v.env)));
  const results = await Promise.all(ws.map((w) => w.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(results.map((r) => lastJson<WriterDone>(r.stdout).stats.lockProvider).sort(), ['fs-ext', 'fs-ext', 'fs-ext', 'fs-ext', 'koffi', 'koffi', 'koffi', 'koffi']);
  assertComplete([...listRotated(file).map((r) => r.path), file], await Promise.all(ws.map((w) => w.sid)), 1502);
});

test('mixed backends with lockfile writers arriving one by one during the grace, writing slowly', { timeout: 120_000 }, async () => {
  // Slow (256-byte) writes keep a lockfile writer's batch in flight for milliseconds, so a flock
  // writer that did not take the lock file would read a mid-write tail and fence it (a blank line).
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const fl = Array.from({ length: 4 }, () => writer({ file, count: 4000, lock: 'flock', burst: 20, paceMs: 1 }));
  const lf: ReturnType<typeof writer>[] = [];
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 150));
    lf.push(writer({ file, count: 1500, lock: 'lockfile', burst: 30, paceMs: 2, slowWrite: true }));
  }
  const all = [...fl, ...lf];
  for (const r of await Promise.all(all.map((w) => w.done))) assert.equal(r.code, 0, r.stderr);
  const sids = await Promise.all(all.map((w) => w.sid));
  const flSids = sids.slice(0, 4);
  assertComplete([file], sids, (sid) => (flSids.includes(sid) ? 4002 : 1502));
});

test('the lockfile fallback alone under the same stress (no flock provider, as if neither fs-ext nor koffi could load)', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const ws = Array.from({ length: 8 }, () => writer({ file, count: 3000, lock: 'auto', burst: 40, rotateBytes: 512 * 1024 }, { TELEMETRY_SINK_FLOCK_PROVIDER: 'none' }));
  const results = await Promise.all(ws.map((w) => w.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  for (const r of results) assert.equal(lastJson<WriterDone>(r.stdout).stats.backend, 'lockfile');
  const rotated = listRotated(file).map((r) => r.path);
  assert.ok(rotated.length > 0, 'rotation happened under the lockfile backend too');
  assertComplete([...rotated, file], await Promise.all(ws.map((w) => w.sid)), 3002);
  assert.equal(fs.existsSync(file + '.lock'), false, 'no lock file left behind');
});

test('verify running during 8 concurrent writers reports 0 problems, every time', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const ws = Array.from({ length: 8 }, () => writer({ file, count: 20_000, burst: 50, paceMs: 2 }));
  await Promise.all(ws.map((w) => w.sid));
  let runs = 0;
  let growing = 0;
  let exited = 0;
  void Promise.all(ws.map((w) => w.done)).then(() => (exited = 1));
  while (!exited || runs < 3) {
    const v = await run(process.execPath, [CLI, 'verify', '--file', file, '--json']).done;
    const rep = JSON.parse(v.stdout) as { clean: boolean; problemsTotal: number; problems: unknown[]; files: Array<{ beingWritten: number; checkedBytes: number }> };
    assert.equal(rep.problemsTotal, 0, JSON.stringify(rep.problems.slice(0, 3)));
    assert.equal(v.code, 0);
    runs++;
    if (rep.files[0]!.beingWritten > 0) growing++;
    if (exited && runs >= 3) break;
  }
  const results = await Promise.all(ws.map((w) => w.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.ok(runs >= 3, `${runs} verify runs while writing (${growing} saw the file grow during the run)`);
});

test('verify --all during 8 writers that keep rotating: 0 problems every time', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const ws = Array.from({ length: 8 }, () => writer({ file, count: 15_000, burst: 50, paceMs: 2, rotateBytes: 128 * 1024 }));
  await Promise.all(ws.map((w) => w.sid));
  let exited = false;
  void Promise.all(ws.map((w) => w.done)).then(() => (exited = true));
  let runs = 0;
  while (!exited || runs < 3) {
    const v = await run(process.execPath, [CLI, 'verify', '--file', file, '--all', '--json']).done;
    const rep = JSON.parse(v.stdout) as { problemsTotal: number; problems: unknown[] };
    assert.equal(rep.problemsTotal, 0, JSON.stringify(rep.problems.slice(0, 3)));
    runs++;
  }
  for (const r of await Promise.all(ws.map((w) => w.done))) assert.equal(r.code, 0, r.stderr);
  assert.ok(listRotated(file).length > 5, 'rotations happened while verifying');
  assert.ok(runs >= 3);
});
