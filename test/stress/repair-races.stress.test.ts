/**
 * Repair against the interleavings that destroyed events (issue #14, items 1–3), each forced
 * deterministically: a process is stopped (SIGSTOP) once /proc shows it holds the file open, the
 * race is played out, then it is continued. Every event must be present exactly once across the
 * live file, rotated files and quarantine files.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { Sink } from '../../src/core/sink/appender';
import { LockMode } from '../../src/core/sink/locks';
import { chooseFlockProvider } from '../../src/core/sink/flockProviders';
import { rotatedName } from '../../src/core/sink/rotation';
import { repair } from '../../src/core/integrity/repair';
import { CLI, FIXTURES, lastJson, run } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { ledger, ledgerProblems, stopProcess, waitUntilOpen } from '../helpers/ledger';

const fx = chooseFlockProvider().provider;
const ORIG = 'orig0000-0000-4000-8000-000000000000';

/** 20 valid events of session ORIG with one junk line in the middle (so a repair has work to do). */
function damagedFile(): string {
  const file = path.join(tmpDir('lts-race-'), 'events.jsonl');
  const lines: string[] = [];
  for (let seq = 0; seq < 20; seq++) {
    lines.push(buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, '2026-11-28T03:00:00.000Z', ORIG, seq, '"race.orig"', '"cli"', `{"n":${seq}}`));
    if (seq === 9) lines.push('junk that a repair must move\n');
  }
  fs.writeFileSync(file, lines.join(''), { mode: 0o600 });
  return file;
}

/** Holds the lock of `backend` on `file` the way a writer in its critical section would. */
function hold(file: string, backend: 'flock' | 'lockfile'): () => void {
  if (backend === 'flock') {
    const fd = fs.openSync(file, 'r');
    const err = fx!.flock(fd, 'exnb');
    if (err) throw err;
    return () => fs.closeSync(fd);
  }
  fs.writeFileSync(file + '.lock', JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'test-holder', ts: Date.now() }));
  return () => fs.rmSync(file + '.lock');
}

async function append(file: string, n: number, lock: LockMode): Promise<string> {
  const sink = new Sink({ file, lock, flushIntervalMs: 5 });
  for (let i = 0; i < n; i++) sink.record('race.late', { i });
  const r = await sink.close();
  assert.equal(r.pending, 0, r.error?.message);
  return sink.sid;
}

function assertOnce(file: string, want: Map<string, number>): void {
  const l = ledger(file);
  assert.deepEqual(ledgerProblems(l, want), [], `files: ${[...l.files.events, ...l.files.quarantine].map((f) => path.basename(f)).join(', ')}`);
}

const envFor = (backend: 'flock' | 'lockfile'): NodeJS.ProcessEnv => ({ ...process.env, ...(backend === 'lockfile' ? { TELEMETRY_SINK_DISABLE_FLOCK: '1' } : {}) });

for (const backend of ['flock', 'lockfile'] as const) {
  test(`item 1 (${backend}): a second repair that opened the file before the first one finished loses nothing written in between`, { timeout: 60_000, skip: !fx && 'no flock provider loads' }, async (t) => {
    const file = damagedFile();
    const release = hold(file, backend);
    const second = run(process.execPath, [CLI, 'repair', '--file', file, '--lock-timeout', '60000'], { env: envFor(backend) });
    t.after(() => second.child.kill('SIGKILL'));
    await waitUntilOpen(second.child.pid!, file);
    await stopProcess(second.child.pid!);
    release();
    const first = await repair({ file, lock: backend === 'lockfile' ? 'lockfile' : 'auto' });
    assert.equal(first.clean, false, 'the first repair moved the junk line');
    const late = await append(file, 5, backend);
    second.child.kill('SIGCONT');
    const d = await second.done;
    assert.equal(d.code, 0, d.stderr);
    assertOnce(file, new Map([[ORIG, 20], [late, 5]]));
  });
}

test('item 2: a repair that opened the live file before a rotation neither loses the new events nor duplicates the old ones', { timeout: 60_000, skip: !fx && 'no flock provider loads' }, async (t) => {
  const file = damagedFile();
  const release = hold(file, 'flock');
  const r = run(process.execPath, [CLI, 'repair', '--file', file, '--lock-timeout', '60000']);
  t.after(() => r.child.kill('SIGKILL'));
  await waitUntilOpen(r.child.pid!, file);
  await stopProcess(r.child.pid!);
  // A writer rotates under the lock (rename), then events go to the new live file.
  fs.renameSync(file, rotatedName(file));
  const late = await append(file, 5, 'flock');
  release();
  r.child.kill('SIGCONT');
  const d = await r.done;
  assert.equal(d.code, 0, d.stderr);
  assertOnce(file, new Map([[ORIG, 20], [late, 5]]));
});

test('item 3: a seed-style Python writer that opened the file before the repair writes after it: its event is kept', { timeout: 60_000, skip: !fx && 'no flock provider loads' }, async (t) => {
  const file = damagedFile();
  const release = hold(file, 'flock');
  const py = run('python3', [path.join(FIXTURES, 'seed_writer.py'), file, '1']);
  t.after(() => py.child.kill('SIGKILL'));
  await waitUntilOpen(py.child.pid!, file); // opened with 'a', now blocked in flock(LOCK_EX)
  await stopProcess(py.child.pid!);
  release();
  const r = await repair({ file });
  assert.equal(r.clean, false);
  py.child.kill('SIGCONT');
  const d = await py.done;
  assert.equal(d.code, 0, d.stderr);
  const sid = lastJson<{ sid: string }>(d.stdout).sid;
  assertOnce(file, new Map([[ORIG, 20], [sid, 1]]));
});
