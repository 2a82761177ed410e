import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { analyze, seqReport } from '../helpers/analyze';
import { CLI, Done, FIXTURES, lastJson, ROOT, run, sleep, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { FLOCK_VARIANTS, LOCK_VARIANTS, LockVariant } from '../helpers/providers';
import { withSeed } from '../helpers/random';

interface Stats {
  accepted: number;
  dropped: { total: number };
  lockTimeouts: number;
  staleLocksBroken: number;
  errors: { byCode: Record<string, number> };
  backend: string;
  lockProvider: string | null;
}

/** Coverage of a session: present seqs plus sink.dropped ranges must tile [0, max] exactly once. */
function droppedRanges(file: string, sid: string): Array<[number, number]> {
  return analyze([file]).valid.filter((v) => v.sid === sid && v.type === 'sink.dropped').map((v) => [v.data.from_seq as number, v.data.to_seq as number]);
}

/** Victims and the pauses between kills come from `random` (seeded: a failure names its seed). */
async function killTest(variant: LockVariant, kills: number, random: () => number): Promise<void> {
  const { lock: backend, env } = variant;
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const survivors = Array.from({ length: 2 }, () => writer({ file, count: 6000, lock: backend, burst: 20, paceMs: 1 }, env));
  const live = new Set<ReturnType<typeof writer>>();
  const killedSids: string[] = [];
  const spawnVictim = (): void => {
    live.add(writer({ file, count: 0, lock: backend, burst: 40, eventBytes: 700, paceMs: 5, slowWrite: true, flushIntervalMs: 5 }, env));
  };
  for (let i = 0; i < 4; i++) spawnVictim();
  await sleep(200);
  for (let k = 0; k < kills; k++) {
    await sleep(10 + Math.floor(random() * 40));
    const pool = [...live];
    const victim = pool[Math.floor(random() * pool.length)]!;
    killedSids.push(await victim.sid);
    victim.child.kill('SIGKILL');
    live.delete(victim);
    await victim.done;
    spawnVictim();
  }
  for (const v of live) {
    killedSids.push(await v.sid);
    v.child.kill('SIGKILL');
    await v.done;
  }
  const done = await Promise.all(survivors.map((s) => s.done));
  for (const d of done) assert.equal(d.code, 0, `survivor finished (no deadlock): ${d.stderr}`);
  const survivorSids = await Promise.all(survivors.map((s) => s.sid));

  const a = analyze([file]);
  assert.equal(a.crcBad, 0);
  for (const sid of survivorSids) {
    const r = seqReport(a.bySid.get(sid) ?? []);
    assert.equal(r.count, 6002, `survivor ${sid} lost nothing`);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.duplicates, []);
  }
  for (const sid of killedSids) {
    const r = seqReport(a.bySid.get(sid) ?? []);
    assert.deepEqual(r.duplicates, [], `killed ${sid}: no duplicates`);
    assert.deepEqual(r.missing, [], `killed ${sid}: what it wrote is a prefix (only its tail may be missing)`);
  }
  // Torn lines: only cut-short records (never two records merged), never carrying a survivor's sid.
  assert.ok(a.invalid.length <= kills + 4, `${a.invalid.length} torn lines for ${kills + 4} kills`);
  const raw = fs.readFileSync(file, 'utf8').split('\n');
  for (const bad of a.invalid) {
    const text = raw[bad.line - 1]!;
    for (const sid of survivorSids) assert.ok(!text.includes(sid), `torn line ${bad.line} belongs to a killed writer`);
    assert.equal(text.indexOf('{"v":1', 1), -1, `torn line ${bad.line} holds a single record (fenced, not merged)`);
    assert.throws(() => JSON.parse(text), /end of JSON|Unterminated|Unexpected end|Expected/);
  }
  for (const d of done) assert.equal(lastJson<{ stats: Stats }>(d.stdout).stats.lockProvider, variant.provider ?? null, 'the provider asked for');
  const fenced = done.map((d) => lastJson<{ stats: { tornTailsFenced: number } }>(d.stdout).stats.tornTailsFenced).reduce((x, y) => x + y, 0);
  for (const d of done) assert.equal(lastJson<{ stats: { lockCompromised: number } }>(d.stdout).stats.lockCompromised, 0, 'no survivor ever lost its lock');
  assert.ok(fenced <= a.invalid.length, 'fences never exceed torn lines');
  // The verifier agrees: exactly the torn lines, and no problem in any survivor's session.
  const v = run(process.execPath, [CLI, 'verify', '--file', file, '--json', '--max-problems', '100000']);
  const rep = JSON.parse((await v.done).stdout) as { totals: { invalid: number }; problems: Array<{ code: string; sid?: string }> };
  assert.equal(rep.totals.invalid, a.invalid.length);
  for (const p of rep.problems) if (p.sid) assert.ok(!survivorSids.includes(p.sid), `verify blames only killed writers (${p.code})`);
  console.log(`# kill -9 ${variant.name}: ${kills + 4} kills, ${a.invalid.length} torn lines, ${fenced} fenced by survivors, ${a.valid.length} valid lines`);
}

for (const v of LOCK_VARIANTS) {
  // flock: the kernel drops a dead holder's lock, whoever made the call, so koffi's run is shorter
  // (CI time); lockfile: stale locks of dead holders are taken over.
  const kills = v.provider === 'fs-ext' ? 100 : v.provider === 'koffi' ? 50 : 30;
  test(`${v.name}: ${kills} random kill -9 of writers mid-stream (lock holders among them), only killed writers lose their tail; no deadlock`, { timeout: 180_000 }, async () => {
    await withSeed('kill test', (random) => killTest(v, kills, random));
  });
}

test('stale lock file of a kill -9ed holder is taken over at once (pid check), not after the age limit', { timeout: 30_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const victim = run('sleep', ['30']);
  const pid = victim.child.pid!;
  victim.child.kill('SIGKILL');
  await victim.done;
  fs.writeFileSync(file + '.lock', JSON.stringify({ pid, host: os.hostname(), token: 'dead', ts: Date.now() }));
  const t0 = Date.now();
  const w = writer({ file, count: 20, lock: 'lockfile', lockTimeoutMs: 5000, staleLockMs: 60_000 });
  const d = await w.done;
  assert.equal(d.code, 0, d.stderr);
  assert.ok(Date.now() - t0 < 5000, 'well before the 60 s age limit');
  const st = lastJson<{ stats: Stats }>(d.stdout).stats;
  assert.equal(st.staleLocksBroken, 1);
  assert.equal(seqReport(analyze([file]).bySid.get(await w.sid)!).count, 22);
});

test('a lock file whose holder looks alive is respected until it is older than staleLockMs', { timeout: 30_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file + '.lock', JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'alive', ts: Date.now() }));
  const t0 = Date.now();
  const w = writer({ file, count: 5, lock: 'lockfile', lockTimeoutMs: 10_000, staleLockMs: 1500 });
  const d = await w.done;
  const waited = Date.now() - t0;
  assert.equal(d.code, 0, d.stderr);
  assert.ok(waited >= 1400, `waited ${waited} ms for the live-looking lock to age`);
  assert.equal(lastJson<{ stats: Stats }>(d.stdout).stats.staleLocksBroken, 1);
});

for (const variant of FLOCK_VARIANTS) {
  test(`${variant.name}: a Python lock holder stopped with SIGSTOP, writers time out, buffer within bounds, drop and account, recover after SIGCONT`, { timeout: 60_000 }, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, '');
    const holder = run('python3', [path.join(FIXTURES, 'lock_holder.py'), file]);
    await new Promise<void>((resolve) => holder.child.stdout!.once('data', () => resolve()));
    holder.child.kill('SIGSTOP');
    const ws = Array.from({ length: 3 }, () => writer({ file, count: 3000, burst: 10, paceMs: 2, lockTimeoutMs: 200, maxQueueEvents: 500, flushIntervalMs: 20, lock: variant.lock }, variant.env));
    // Hold for 2 s after every writer is up (on a loaded machine starting them can take seconds).
    await Promise.all(ws.map((w) => w.sid));
    await sleep(2000);
    holder.child.kill('SIGCONT');
    holder.child.stdin!.end();
    await holder.done;
    const done = await Promise.all(ws.map((w) => w.done));
    for (const d of done) assert.equal(d.code, 0, d.stderr);
    let totalDropped = 0;
    for (let i = 0; i < ws.length; i++) {
      const sid = await ws[i]!.sid;
      const st = lastJson<{ stats: Stats }>(done[i]!.stdout).stats;
      assert.ok(st.lockTimeouts > 0, 'timed out while the holder was stopped');
      assert.equal(st.lockProvider, variant.provider);
      const present = analyze([file]).bySid.get(sid)!;
      const covered = new Set(present);
      assert.equal(covered.size, present.length, 'no duplicates');
      let droppedCount = 0;
      for (const [a, b] of droppedRanges(file, sid)) {
        for (let s = a; s <= b; s++) {
          assert.ok(!covered.has(s), `seq ${s} both written and reported dropped`);
          covered.add(s);
          droppedCount++;
        }
      }
      const max = Math.max(...covered);
      for (let s = 0; s <= max; s++) assert.ok(covered.has(s), `seq ${s} of ${sid} neither written nor accounted as dropped`);
      assert.equal(droppedCount, st.dropped.total, 'every drop is accounted in the file');
      totalDropped += droppedCount;
    }
    assert.ok(totalDropped > 0, 'the 500-event bound was hit while the lock was held');
    const v = await run(process.execPath, [CLI, 'verify', '--file', file, '--json']).done;
    const rep = JSON.parse(v.stdout) as { clean: boolean; totals: { dropped: number; lost: number } };
    assert.equal(rep.totals.lost, 0);
    assert.equal(rep.totals.dropped, totalDropped);
    assert.equal(v.code, 0, 'deliberate, accounted drops are not problems');
  });
}

const isRoot = process.getuid?.() === 0;

test('permission denied: a clear error with a code, nothing written, works once the fault clears', { timeout: 30_000, skip: !isRoot && 'needs root to run a child as another user' }, async () => {
  const dir = tmpDir();
  fs.chmodSync(dir, 0o755);
  const sub = path.join(dir, 'data');
  // The user's own folder, made read-only: safe (nobody else can plant files) but not writable.
  fs.mkdirSync(sub, { mode: 0o500 });
  fs.chownSync(sub, 65534, 65534);
  const file = path.join(sub, 'events.jsonl');
  const input = '{"type":"perm.test","data":{}}\n';
  const asNobody = { uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp' } };
  const first = await run(process.execPath, [CLI, 'record', '--file', file], { ...asNobody, input }).done;
  assert.equal(first.code, 1);
  assert.match(first.stderr, /ERR_OPEN/);
  assert.match(first.stderr, /permission denied|EACCES/i);
  assert.equal(fs.existsSync(file), false);
  fs.chmodSync(sub, 0o700);
  const second = await run(process.execPath, [CLI, 'record', '--file', file], { ...asNobody, input }).done;
  assert.equal(second.code, 0, second.stderr);
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  assert.deepEqual(analyze([file]).invalid, []);
});

test('disk full (RLIMIT_FSIZE): EFBIG reported with a code, partial batch rolled back, no corrupt line', { timeout: 60_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const input = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ type: 'disk.full', data: { i, pad: 'y'.repeat(200) } })).join('\n') + '\n';
  const limited = await run('bash', ['-c', `ulimit -f 64 && exec "${process.execPath}" "${CLI}" record --file "${file}" --wait 1500`], { input }).done;
  assert.equal(limited.code, 1, limited.stderr);
  assert.match(limited.stderr, /ERR_WRITE|ERR_UNFLUSHED/);
  assert.match(limited.stderr, /EFBIG|File too large/);
  const after = analyze([file]);
  assert.deepEqual(after.invalid, [], 'no torn or corrupt line after the failed writes');
  assert.ok(fs.statSync(file).size <= 64 * 1024);
  const ok = await run(process.execPath, [CLI, 'record', '--file', file], { input }).done;
  assert.equal(ok.code, 0, ok.stderr);
  const a = analyze([file]);
  assert.deepEqual(a.invalid, []);
  const full = [...a.bySid.values()].find((s) => s.length === 3002);
  assert.ok(full, 'the second run wrote all 3000 events + session events');
});

function tryMountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('disk full (ENOSPC on a tiny tmpfs): a live writer keeps its queue and recovers once space is freed', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir();
  if (!isRoot || !tryMountTmpfs(dir, '512k')) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  try {
    const filler = path.join(dir, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(400 * 1024));
    const file = path.join(dir, 'events.jsonl');
    const w = writer({ file, count: 1500, burst: 50, paceMs: 5, lockTimeoutMs: 500, flushIntervalMs: 50, closeTimeoutMs: 20_000, maxQueueEvents: 100_000 });
    const sid = await w.sid;
    // Let it hit ENOSPC, then free the space.
    for (let i = 0; i < 100 && !(fs.existsSync(file) && fs.statSync(file).size > 60 * 1024); i++) await sleep(20);
    await sleep(500);
    fs.rmSync(filler);
    const d = await w.done;
    assert.equal(d.code, 0, d.stderr);
    const st = lastJson<{ stats: Stats }>(d.stdout).stats;
    assert.ok((st.errors.byCode.ERR_WRITE ?? 0) > 0, 'ENOSPC was hit and reported');
    const a = analyze([file]);
    assert.deepEqual(a.invalid, []);
    const r = seqReport(a.bySid.get(sid)!);
    assert.equal(r.count, 1502, 'nothing lost once space came back');
    assert.deepEqual(r.duplicates, []);
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('an fs-ext binary that cannot load (wrong ABI/corrupt): flock via koffi, and the lock file only when koffi is missing too', { timeout: 30_000 }, async () => {
  // A copy of the bundle next to an fs-ext whose native binary is garbage, as a VSIX built for
  // another runtime would be: require('fs-ext') throws, the sink must still work.
  const dir = tmpDir();
  const dist = path.join(dir, 'dist');
  fs.mkdirSync(dist);
  fs.copyFileSync(CLI, path.join(dist, 'cli.js'));
  const fx = path.join(dir, 'node_modules', 'fs-ext');
  fs.mkdirSync(path.join(fx, 'build', 'Release'), { recursive: true });
  fs.writeFileSync(path.join(fx, 'package.json'), JSON.stringify({ name: 'fs-ext', version: '2.1.1', main: 'fs-ext.js' }));
  fs.writeFileSync(path.join(fx, 'fs-ext.js'), "module.exports = require('./build/Release/fs_ext.node');\n");
  fs.writeFileSync(path.join(fx, 'build', 'Release', 'fs_ext.node'), 'not an ELF file');
  fs.symlinkSync(path.join(ROOT, 'node_modules', 'koffi'), path.join(dir, 'node_modules', 'koffi'), 'dir');
  const file = path.join(dir, 'events.jsonl');
  const record = (lock = 'auto'): Promise<Done> =>
    run(process.execPath, [path.join(dist, 'cli.js'), 'record', '--file', file, '--lock', lock], { input: '{"type":"abi.test","data":{}}\n', env: { ...process.env, TELEMETRY_SINK_VERBOSE: '1' } }).done;
  const starts = (): Array<Record<string, unknown>> => analyze([file]).valid.filter((v) => v.type === 'session.start').map((v) => v.data);

  const viaKoffi = await record();
  assert.equal(viaKoffi.code, 0, viaKoffi.stderr);
  assert.match(viaKoffi.stderr, /lock backend flock \(flock via koffi: fs-ext did not load \(fs_ext\.node: [^)]+\)\)/);
  const s1 = starts()[0]!;
  assert.equal(s1.lock_backend, 'flock');
  assert.equal(s1.lock_provider, 'koffi');
  assert.ok(!String(s1.lock_backend_reason).includes(dir), `no absolute path in the reason: ${String(s1.lock_backend_reason)}`);

  fs.unlinkSync(path.join(dir, 'node_modules', 'koffi'));
  const fallback = await record();
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stderr, /lock backend lockfile \(fallback: no flock provider loads: fs-ext did not load \(fs_ext\.node: [^)]+\); koffi did not load \(Cannot find module 'koffi'\)\)/);
  const s2 = starts()[1]!;
  assert.equal(s2.lock_backend, 'lockfile');
  assert.equal(s2.lock_provider, null);
  assert.ok(!String(s2.lock_backend_reason).includes(dir), `no absolute path in the reason: ${String(s2.lock_backend_reason)}`);
  const flockOnly = await record('flock');
  assert.equal(flockOnly.code, 1);
  assert.match(flockOnly.stderr, /ERR_LOCK_UNAVAILABLE/);
});
