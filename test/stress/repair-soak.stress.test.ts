/**
 * The randomized soak of issue #14: 8 writers (4 flock, 4 lockfile) + 2 seed-style Python writers
 * (with junk lines) + size rotation + retention (moving old rotated files to an archive folder, so
 * their events can still be counted) + `repair --all` in a loop from 2 processes + `verify --all` in
 * a loop + kill -9 of random participants (writers, Python writers, repairs), respawned. Seeded
 * (SOAK_SEED=n to replay the same choices; the seed is printed) and bounded in time (SOAK_MS).
 * At the end, after one more repair: every event of every writer that was never killed is present
 * exactly once across live, rotated, archived and quarantine files; no event is present twice.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { listRotated } from '../../src/core/sink/rotation';
import { CLI, Done, FIXTURES, lastJson, ROOT, run, sleep, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import type { RepairStep } from '../../src/core/integrity/repair';

const REPAIRER = path.join(ROOT, 'out', 'test', 'fixtures', 'repairer.js');
import { ledger, ledgerProblems } from '../helpers/ledger';
import { rng } from '../helpers/random';

const SOAK_MS = Number(process.env.SOAK_MS ?? 35_000);
/** On a busy machine the chaos goes on (up to this) until enough repairs have finished to mean something. */
const SOAK_MAX_MS = Math.max(SOAK_MS, Number(process.env.SOAK_MAX_MS ?? 70_000));
const MIN_REPAIRS = 8;

interface RepairOut {
  clean: boolean;
  linesMoved: number;
  recovered: string[];
}

interface Member {
  kind: 'node' | 'python' | 'repair';
  child: ChildProcess;
  done: Promise<Done>;
  sid?: Promise<string>;
  killed: boolean;
  /** Never killed: long-lived witnesses whose whole history must be intact at the end. */
  witness?: boolean;
}

test('soak: writers of both backends, Python writers, rotation, retention, repairs from 2 processes, kill -9 of anyone', { timeout: 240_000 }, async (t) => {
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`# soak seed ${seed} (replay the same choices with SOAK_SEED=${seed})`);
  const rnd = rng(seed);
  const dir = tmpDir('lts-soak-');
  const archive = tmpDir('lts-soak-archive-');
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, '', { mode: 0o600 });
  t.after(() => {
    if (process.env.SOAK_KEEP) return console.log(`# soak files kept in ${dir} and ${archive}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(archive, { recursive: true, force: true });
  });
  const members: Member[] = [];

  const spawnNode = (lock: 'flock' | 'lockfile', witness = false): void => {
    // Killable flock writers write in 256-byte pieces, so a kill often leaves a torn line to repair.
    const w = writer({ file, count: 0, lock, burst: 5, paceMs: 20, rotateBytes: 256 * 1024, lockTimeoutMs: 60_000, flushIntervalMs: 20, maxQueueEvents: 200_000, closeTimeoutMs: 60_000, slowWrite: !witness && lock === 'flock' });
    members.push({ kind: 'node', child: w.child, done: w.done, sid: w.sid, killed: false, witness });
  };
  const spawnPython = (witness = false): void => {
    const p = run('python3', [path.join(FIXTURES, 'seed_writer.py'), file, '0', '0.005', '50']);
    const sid = new Promise<string>((resolve) => p.child.stdout!.once('data', (d: Buffer | string) => resolve((JSON.parse(String(d).split('\n')[0]!) as { sid: string }).sid)));
    members.push({ kind: 'python', child: p.child, done: p.done, sid, killed: false, witness });
  };
  for (const lock of ['flock', 'lockfile'] as const) for (let i = 0; i < 4; i++) spawnNode(lock, i === 0);
  spawnPython(true);
  spawnPython();

  let stop = false;
  const repairs = { runs: 0, recovered: 0, moved: 0, selfKilled: 0, ms: 0 };
  // Most repairs are the CLI (killed from outside at random moments, mostly while starting or waiting
  // for the lock); about a third kill themselves at a random step of their journal work.
  const steps: RepairStep[] = ['linked', 'split', 'committed', 'epoch', 'apply-partial', 'filler', 'marked', 'truncated', 'unjournaled'];
  const repairLoop = async (): Promise<void> => {
    while (!stop) {
      const self = rnd() < 0.35;
      const killAt = steps[Math.floor(rnd() * steps.length)];
      const r = self
        ? run(process.execPath, [REPAIRER, JSON.stringify({ file, all: true, lockTimeoutMs: 30_000, ioChunkBytes: 512, killAt })])
        : run(process.execPath, [CLI, 'repair', '--file', file, '--all', '--json', '--lock-timeout', '30000']);
      const m: Member = { kind: 'repair', child: r.child, done: r.done, killed: false };
      members.push(m);
      const began = Date.now();
      const d = await r.done;
      if (d.signal === 'SIGKILL') {
        if (!m.killed) repairs.selfKilled++;
        continue;
      }
      assert.equal(d.code, 0, `repair failed (seed ${seed}): ${d.stderr}`);
      repairs.runs++;
      repairs.ms += Date.now() - began;
      for (const x of [JSON.parse(d.stdout) as RepairOut | RepairOut[]].flat()) {
        repairs.recovered += x.recovered.length;
        if (!x.clean) repairs.moved += x.linesMoved;
      }
    }
  };
  const verifyReports: Array<{ code: number | null; out: string; err: string }> = [];
  const verifyLoop = async (): Promise<void> => {
    while (!stop) {
      const d = await run(process.execPath, [CLI, 'verify', '--file', file, '--all', '--json', '--max-problems', '100000']).done;
      verifyReports.push({ code: d.code, out: d.stdout, err: d.stderr });
    }
  };
  const retention = setInterval(() => {
    // Keep the newest 4 rotated files; "delete" older ones by moving them out (their events still count).
    for (const r of listRotated(file).slice(0, -4)) {
      try {
        fs.renameSync(r.path, path.join(archive, path.basename(r.path)));
      } catch {
        /* moved by an earlier tick */
      }
    }
  }, 300);
  // Whatever fails, stop the clock and every process left, or the test runner would wait forever.
  t.after(() => {
    stop = true;
    clearInterval(retention);
    for (const m of members) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
  });
  const loops = [repairLoop(), repairLoop(), verifyLoop()];
  for (const l of loops) l.catch(() => (stop = true)); // a failed loop ends the chaos early; awaited below

  const kills = { node: 0, python: 0, repair: 0 };
  const t0 = Date.now();
  while (!stop && (Date.now() - t0 < SOAK_MS || (repairs.runs < MIN_REPAIRS && Date.now() - t0 < SOAK_MAX_MS))) {
    await sleep(200 + rnd() * 600);
    // Some kills hit a repair (most repairs must get to finish, or none would do any work), the rest a writer.
    const wantRepair = rnd() < 0.1;
    const alive = members.filter((m) => !m.killed && !m.witness && (m.kind === 'repair') === wantRepair && m.child.exitCode === null && m.child.signalCode === null);
    const victim = alive[Math.floor(rnd() * alive.length)];
    if (!victim) continue;
    if (process.env.SOAK_DEBUG) console.log(`# kill ${victim.kind} of ${alive.map((m) => m.kind).join(",")}`);
    victim.killed = true;
    victim.child.kill('SIGKILL');
    kills[victim.kind]++;
    if (victim.kind === 'node') spawnNode(rnd() < 0.5 ? 'flock' : 'lockfile');
    if (victim.kind === 'python') spawnPython();
  }
  stop = true;
  for (const m of members) {
    if (m.killed || m.kind === 'repair') continue;
    await m.sid; // printed once its SIGTERM handler is in place
    m.child.kill('SIGTERM');
  }
  const writers = members.filter((m) => m.kind !== 'repair');
  const finished = await Promise.all(writers.map((m) => m.done));
  await Promise.all(loops);
  clearInterval(retention);
  const last = await run(process.execPath, [CLI, 'repair', '--file', file, '--all', '--json']).done;
  assert.equal(last.code, 0, `the final repair finishes whatever a killed one left (seed ${seed}): ${last.stderr}`);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.repair-') && !n.endsWith('.repair-epoch')), [], `no repair artifact left (seed ${seed})`);

  // Survivors: every event they accepted, exactly once. Everyone: never twice.
  const want = new Map<string, number>();
  const nodeSurvivors = new Set<string>();
  for (let i = 0; i < writers.length; i++) {
    const m = writers[i]!;
    if (m.killed) continue;
    const d = finished[i]!;
    assert.equal(d.code, 0, `a survivor (${m.kind}) ended cleanly (seed ${seed}): ${d.stderr}`);
    if (m.kind === 'python') {
      const s = lastJson<{ sid: string; count: number }>(d.stdout);
      want.set(s.sid, s.count);
    } else {
      const s = lastJson<{ sid: string; pending: number; stats: { accepted: number; dropped: { total: number } } }>(d.stdout);
      assert.equal(s.pending, 0);
      assert.equal(s.stats.dropped.total, 0, 'no drops: every seq below accepted is an event');
      want.set(s.sid, s.stats.accepted);
      nodeSurvivors.add(s.sid);
    }
  }
  const l = ledger(file, [archive]);
  const problems = ledgerProblems(l, want);
  const events = [...want.values()].reduce((a, b) => a + b, 0);
  console.log(`# soak: kill -9 of ${kills.node} node writers, ${kills.python} Python writers, ${kills.repair} repairs (and ${repairs.selfKilled} repairs killed at a step of their journal work); ${repairs.runs} repairs finished (${Math.round(repairs.ms / Math.max(1, repairs.runs))} ms each, ${repairs.moved} lines moved, ${repairs.recovered} killed repairs' leftovers finished or cleaned); ${want.size} surviving writers (${events} events), ${l.counts.size} events counted; ${listRotated(file).length + fs.readdirSync(archive).length} rotated files, ${l.files.quarantine.length} quarantine files; ${verifyReports.length} verify runs`);
  assert.ok(want.size >= 4, `some writers survived (seed ${seed})`);
  assert.ok(repairs.runs > 0, `at least one repair finished (seed ${seed})`);
  assert.ok(l.files.quarantine.length > 0, `repairs moved damaged lines (seed ${seed})`);
  assert.deepEqual(problems.slice(0, 20), [], `exactly once (seed ${seed})`);

  // Verify, running all along, either read a consistent set or said ERR_CHANGED; never a false loss.
  for (const v of verifyReports) {
    if (v.code === 2) {
      assert.match(v.err, /ERR_CHANGED|ERR_NOT_FOUND|ERR_READ/, `verify could not run only for a coded reason (seed ${seed})`);
      continue;
    }
    const rep = JSON.parse(v.out) as { problems: Array<{ code: string; sid?: string; message: string }>; files: Array<{ note?: string }> };
    // README's limit: a rotated file removed by retention while verify --all reads the set leaves a
    // 'lost' gap in the sessions that span it (the report names the removed file). Only then.
    const holes = rep.files.filter((f) => /removed \(retention\)/.test(f.note ?? '')).length;
    for (const p of rep.problems) {
      assert.notEqual(p.code, 'duplicate', `verify saw a duplicate (seed ${seed}): ${p.message}`);
      if (holes > 0 && p.code === 'lost') continue;
      if (p.sid && nodeSurvivors.has(p.sid)) assert.fail(`verify reported ${p.code} for a surviving writer (seed ${seed}): ${p.message}`);
    }
  }
});
