/**
 * The file system under every process (issues #14 items 4-9, 12, 14 and #13 item 1): signals on
 * `record`, hostile paths (FIFO, device, socket, symlinks planted by another user), read-only and full
 * file systems under the readers, long and invalid input lines, rotation seen by readers, and
 * thousands of rotated files. Each test reproduces an attack that worked on the code before this change.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { analyze, seqReport } from '../helpers/analyze';
import { CLI, Done, FIXTURES, run, sleep, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { listRotated, rotatedName } from '../../src/core/sink/rotation';
import { buildLine } from '../../src/core/sink/envelope';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs the CLI; a run still going after `ms` is killed and reported as hung (code null, hung true). */
async function cli(args: string[], opts: { input?: string | Buffer; ms?: number; asUid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Done & { hung: boolean }> {
  const argv = [process.execPath, CLI, ...args];
  const [cmd, ...rest] = opts.asUid === undefined ? argv : ['setpriv', `--reuid=${opts.asUid}`, `--regid=${opts.asUid}`, '--clear-groups', ...argv];
  const r = run(cmd!, rest, { input: opts.input, env: { ...process.env, ...(opts.env ?? {}) } });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    r.child.kill('SIGKILL');
  }, opts.ms ?? 20_000);
  const d = await r.done;
  clearTimeout(timer);
  return { ...d, hung };
}

/** A temp folder other users can traverse (the tmp folders are 0700 and owned by root here). */
function openTmp(): string {
  const d = tmpDir();
  fs.chmodSync(d, 0o755);
  return d;
}

function lines(n: number, type = 'files.test'): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ type, data: { i } })).join('\n') + '\n';
}

function mountTmpfs(dir: string, size: string): boolean {
  if (!isRoot) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---- #14 item 4: record on SIGTERM / SIGINT / SIGHUP --------------------------------------------

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`record on ${sig}: what it read is written, then session.end, then it exits`, { timeout: 30_000 }, async () => {
    const file = path.join(tmpDir(), 'events.jsonl');
    const r = run(process.execPath, [CLI, 'record', '--file', file]);
    let stderr = '';
    const seen = new Promise<void>((resolve) => r.child.stderr!.on('data', (d: Buffer) => ((stderr += d.toString()), /line 501:/.test(stderr) && resolve())));
    // 500 good lines, then a bad one: its error on stderr proves the 500 were read and queued.
    r.child.stdin!.write(lines(500) + 'not json\n');
    if (sig === 'SIGHUP') r.child.stdin!.write('{"type":"cut.short","da'); // a line cut by the signal
    await seen;
    await sleep(50);
    r.child.kill(sig);
    const d = await r.done;
    assert.equal(d.signal, null, `exited by itself, not killed by ${sig}`);
    assert.equal(d.code, 65, `65: one line (or two) rejected, the rest written\n${d.stderr}`);
    const a = analyze([file]);
    assert.deepEqual(a.invalid, []);
    assert.equal(a.valid.filter((v) => v.type === 'files.test').length, 500, 'every line read before the signal is written');
    const end = a.valid.find((v) => v.type === 'session.end');
    assert.ok(end, 'session.end written');
    assert.equal(end.data.signal, sig);
    assert.deepEqual(seqReport(a.bySid.get(end.sid)!).missing, [], 'no seq gap in the session');
    if (sig === 'SIGHUP') assert.match(d.stderr, /line 502: .*cut short/);
  });
}

test('record on SIGTERM with nothing rejected exits 0 after session.end', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const r = run(process.execPath, [CLI, 'record', '--file', file]);
  r.child.stdin!.write(lines(300));
  // Wait until the periodic flush has written them (session.start + 300 lines).
  for (let i = 0; i < 400 && !(fs.existsSync(file) && analyze([file]).valid.length >= 301); i++) await sleep(25);
  r.child.kill('SIGTERM');
  const d = await r.done;
  assert.equal(d.code, 0, d.stderr);
  const a = analyze([file]);
  assert.equal(a.valid.filter((v) => v.type === 'files.test').length, 300);
  assert.ok(a.valid.some((v) => v.type === 'session.end'));
});

test('record never drops: with the lock held for 3 s it stops reading instead of overflowing its 16 MiB queue', { timeout: 60_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  fs.writeFileSync(file, '', { mode: 0o600 });
  const holder = run('python3', [path.join(FIXTURES, 'lock_holder.py'), file]);
  await new Promise<void>((resolve) => holder.child.stdout!.once('data', () => resolve()));
  // 15,000 events of 2 KB: 30 MB, more than the sink's 16 MiB queue.
  const input = Array.from({ length: 15_000 }, (_, i) => JSON.stringify({ type: 'files.test', data: { i, pad: 'p'.repeat(2000) } })).join('\n') + '\n';
  const r = run(process.execPath, [CLI, 'record', '--file', file, '--lock-timeout', '200', '--wait', '20000'], { input });
  await sleep(3000);
  holder.child.stdin!.end();
  await holder.done;
  const d = await r.done;
  assert.equal(d.code, 0, d.stderr.slice(0, 2000));
  const a = analyze([file]);
  assert.equal(a.valid.filter((v) => v.type === 'files.test').length, 15_000, 'every line written');
  assert.equal(a.valid.filter((v) => v.type === 'sink.dropped').length, 0, 'nothing dropped');
});

// ---- #14 items 7 and 14: long lines, invalid UTF-8, data null -------------------------------------

test('record: a 160 MB stdin line is rejected as "too long" without buffering it (64 MB heap), later lines written', { timeout: 90_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const r = run(process.execPath, ['--max-old-space-size=64', CLI, 'record', '--file', file]);
  const stdin = r.child.stdin!;
  let gone = false;
  r.child.on('close', () => (gone = true));
  // Resolves on drain, or at once when the child has gone (a crash must fail the test, not hang it).
  const write = (s: string | Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (gone || stdin.write(s)) return resolve();
      const t = setInterval(() => gone && (clearInterval(t), resolve()), 50);
      stdin.once('drain', () => (clearInterval(t), resolve()));
    });
  await write('{"type":"before.long","data":{}}\n{"type":"long.line","data":{"pad":"');
  const mb = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < 160; i++) await write(mb);
  await write('"}}\n{"type":"after.long","data":{}}\n');
  stdin.end();
  const d = await r.done;
  assert.equal(d.code, 65, d.stderr.slice(0, 2000));
  assert.match(d.stderr, /line 2: too long \(over 1048576 bytes\)/);
  assert.doesNotMatch(d.stderr, /RangeError|heap|internal error/);
  const types = analyze([file]).valid.map((v) => v.type);
  assert.deepEqual(types, ['session.start', 'before.long', 'after.long', 'session.end']);
});

test('record: invalid UTF-8 and "data": null are per-line errors (65), never written as U+FFFD or {}', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const input = Buffer.concat([
    Buffer.from('{"type":"ok.one","data":{}}\n{"type":"bad.utf8","data":{"s":"'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}}\n{"type":"null.data","data":null}\n{"type":"ok.two","data":{"s":"é"}}\n'),
  ]);
  const d = await cli(['record', '--file', file], { input });
  assert.equal(d.code, 65, d.stderr);
  assert.match(d.stderr, /line 2: not valid UTF-8/);
  assert.match(d.stderr, /line 3: field "data": expected an object/);
  const a = analyze([file]);
  assert.deepEqual(a.valid.map((v) => v.type), ['session.start', 'ok.one', 'ok.two', 'session.end']);
  assert.equal(fs.readFileSync(file, 'utf8').includes('\ufffd'), false);
});

// ---- #14 item 6: FIFO, device, socket ---------------------------------------------------------

async function specialFiles(dir: string): Promise<{ kinds: Array<[string, string]>; close: () => void }> {
  const fifo = path.join(dir, 'fifo.jsonl');
  execFileSync('mkfifo', [fifo]);
  const kinds: Array<[string, string]> = [['FIFO', fifo]];
  const sock = path.join(dir, 'sock.jsonl');
  const server = net.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  kinds.push(['socket', sock]);
  if (isRoot) {
    const dev = path.join(dir, 'dev.jsonl');
    execFileSync('mknod', [dev, 'c', '1', '3']); // a /dev/null twin
    kinds.push(['device', dev]);
  }
  return { kinds, close: () => server.close() };
}

test('non-regular events paths (FIFO, socket, device): record, verify and stats refuse with ERR_NOT_REGULAR, no hang', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const sp = await specialFiles(dir);
  try {
    for (const [kind, p] of sp.kinds) {
      const rec = await cli(['record', '--file', p, '--wait', '2000'], { input: lines(3000), ms: 15_000 });
      assert.equal(rec.hung, false, `record on a ${kind} hung`);
      assert.equal(rec.code, 1, `${kind}: ${rec.stderr}`);
      assert.match(rec.stderr, /ERR_NOT_REGULAR/, kind);
      for (const cmd of ['verify', 'stats']) {
        const r = await cli([cmd, '--file', p], { ms: 15_000 });
        assert.equal(r.hung, false, `${cmd} on a ${kind} hung`);
        assert.equal(r.code, 2, `${cmd} ${kind}: ${r.stderr}`);
        assert.match(r.stderr, /ERR_NOT_REGULAR/, `${cmd} ${kind}`);
      }
    }
    // A FIFO named like a rotated file is not read by --all (it would block forever).
    const file = path.join(dir, 'events.jsonl');
    assert.equal((await cli(['record', '--file', file], { input: lines(3) })).code, 0);
    execFileSync('mkfifo', [rotatedName(file)]);
    const all = await cli(['verify', '--file', file, '--all', '--json'], { ms: 15_000 });
    assert.equal(all.hung, false);
    assert.equal(all.code, 0, all.stderr);
  } finally {
    sp.close();
  }
});

// ---- #14 item 5 and #13: readers without the lock-file part; empty and future lock files ------------

interface VerifyJson {
  clean: boolean;
  totals: { valid: number };
  files: Array<{ path: string; locked: boolean; note?: string }>;
}

async function readersWork(file: string, asUid?: number): Promise<void> {
  const v = await cli(['verify', '--file', file, '--json'], { asUid });
  assert.equal(v.code, 0, `verify: ${v.stderr}`);
  assert.doesNotMatch(v.stderr, /internal error/);
  const rep = JSON.parse(v.stdout) as VerifyJson;
  assert.equal(rep.clean, true);
  assert.equal(rep.totals.valid, 12);
  assert.match(rep.files[0]!.note ?? '', /without the lock file/, 'the report says the lock-file part was skipped');
  const text = await cli(['verify', '--file', file], { asUid });
  assert.match(text.stdout, /without the lock file/);
  const s = await cli(['stats', '--file', file, '--json'], { asUid });
  assert.equal(s.code, 0, `stats: ${s.stderr}`);
  assert.equal((JSON.parse(s.stdout) as { events: number }).events, 12);
  assert.equal(fs.existsSync(file + '.lock'), false, 'no lock file left behind');
}

test('readers on a read-only file system: verify and stats read without the lock file and say so', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir();
  if (!mountTmpfs(dir, '1m')) return t.skip('cannot mount a tmpfs here (needs root)');
  try {
    const file = path.join(dir, 'events.jsonl');
    assert.equal((await cli(['record', '--file', file], { input: lines(10) })).code, 0);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    await readersWork(file);
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('readers in a folder they cannot write (another user reading): no EACCES crash, exit 0', { timeout: 60_000, skip: !isRoot && 'needs root to run a reader as another user' }, async () => {
  const dir = path.join(openTmp(), 'data');
  fs.mkdirSync(dir, { mode: 0o755 });
  const file = path.join(dir, 'events.jsonl');
  assert.equal((await cli(['record', '--file', file], { input: lines(10) })).code, 0);
  fs.chmodSync(file, 0o644);
  await readersWork(file, NOBODY);
});

test('readers on a full disk: no empty lock file left behind, and writers are not blocked by one', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir();
  if (!mountTmpfs(dir, '256k')) return t.skip('cannot mount a tmpfs here (needs root)');
  try {
    const file = path.join(dir, 'events.jsonl');
    assert.equal((await cli(['record', '--file', file], { input: lines(10) })).code, 0);
    const filler = path.join(dir, 'filler');
    try {
      fs.writeFileSync(filler, Buffer.alloc(1 << 20));
    } catch {
      /* ENOSPC: full, as wanted */
    }
    await readersWork(file);
    fs.rmSync(filler);
    // An empty lock file such as an old version left on a full disk: stale, taken over at once.
    fs.writeFileSync(file + '.lock', '');
    const old = new Date(Date.now() - 2000);
    fs.utimesSync(file + '.lock', old, old);
    const w = await cli(['record', '--file', file, '--lock', 'lockfile', '--lock-timeout', '3000', '--wait', '0'], { input: lines(2) });
    assert.equal(w.code, 0, w.stderr);
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('a lock file with a future mtime (planted, or a clock step) is stale: writers are not locked out', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  // Looks held by a live process (this one) and is "from the future": never stale before the fix.
  fs.writeFileSync(file + '.lock', JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'future', ts: Date.now() }));
  const future = new Date(Date.now() + 3600_000);
  fs.utimesSync(file + '.lock', future, future);
  const w = await cli(['record', '--file', file, '--lock', 'lockfile', '--lock-timeout', '3000', '--wait', '0'], { input: lines(2) });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(analyze([file]).valid.filter((v) => v.type === 'files.test').length, 2);
});

// ---- #13 item 1: symlinks planted in a shared events folder (a real second uid) -----------------

test('another user plants symlinks in a folder they can write: the victim refuses (ERR_UNSAFE_DIR), targets untouched', { timeout: 60_000, skip: !isRoot && 'needs root to act as two users' }, async () => {
  const base = openTmp();
  const home = path.join(base, 'victim-home');
  fs.mkdirSync(home, { mode: 0o700 });
  const bashrc = path.join(home, '.bashrc');
  const keys = path.join(home, 'authorized_keys');
  fs.writeFileSync(bashrc, 'export PS1=ok\n', { mode: 0o644 });
  fs.writeFileSync(keys, 'ssh-ed25519 AAAA victim\n', { mode: 0o600 });
  for (const p of [home, bashrc, keys]) fs.chownSync(p, NOBODY, NOBODY);
  // The shared folder: owned by the attacker (root here), writable by everyone.
  const shared = path.join(base, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o777);
  const file = path.join(shared, 'events.jsonl');
  fs.symlinkSync(bashrc, file);
  fs.symlinkSync(keys, file + '.lockfile-users');
  const before = [fs.readFileSync(bashrc, 'utf8'), fs.readFileSync(keys, 'utf8')];
  const r = await cli(['record', '--file', file, '--lock', 'lockfile'], { input: lines(3), asUid: NOBODY });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERR_UNSAFE_DIR/);
  assert.match(r.stderr, new RegExp(shared.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 'names the folder');
  assert.match(r.stderr, /chmod|chown|folder only you can write/, 'says how to fix it');
  assert.deepEqual([fs.readFileSync(bashrc, 'utf8'), fs.readFileSync(keys, 'utf8')], before, 'targets untouched');
  // The readers refuse the same folder (another user could swap or forge any file in it).
  const v = await cli(['verify', '--file', file], { asUid: NOBODY });
  assert.equal(v.code, 2, v.stderr);
  assert.match(v.stderr, /ERR_UNSAFE_DIR/);
});

test('a folder owned by another user (even if only they can write it): the victim refuses it', { timeout: 60_000, skip: !isRoot && 'needs root to act as two users' }, async () => {
  // The attacker (nobody) owns the folder; the victim (root here) would follow their links.
  const base = openTmp();
  const victimFile = path.join(tmpDir(), 'precious');
  fs.writeFileSync(victimFile, 'precious\n');
  const shared = path.join(base, 'theirs');
  fs.mkdirSync(shared, { mode: 0o755 });
  fs.chownSync(shared, NOBODY, NOBODY);
  const file = path.join(shared, 'events.jsonl');
  execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'ln', '-s', victimFile, file + '.lockfile-users']);
  const r = await cli(['record', '--file', file, '--lock', 'lockfile'], { input: lines(3) });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERR_UNSAFE_DIR/);
  assert.equal(fs.readFileSync(victimFile, 'utf8'), 'precious\n');
});

// ---- #14 item 8: readers never see a transient ENOENT while writers rotate ----------------------

test('verify (live file and --all) 12 times while 3 writers rotate every 32 KB: never ENOENT, never exit 2', { timeout: 120_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  // 1,500 older rotated files: a rotation that lists and stats them all between its rename and its
  // reopen (the old code did) leaves the live path missing for milliseconds each time.
  for (let i = 0; i < 1500; i++) fs.writeFileSync(rotatedName(file, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i))), '', { mode: 0o600 });
  // Writers that go on until killed, so the 12 runs all overlap rotations however slow the machine.
  const ws = Array.from({ length: 3 }, () => writer({ file, count: 0, burst: 2, paceMs: 2, rotateBytes: 32 * 1024 }));
  await Promise.all(ws.map((w) => w.sid));
  while (!fs.existsSync(file)) await sleep(5);
  try {
    for (let runs = 0; runs < 12; runs++) {
      const v = await cli(['verify', '--file', file, ...(runs % 6 === 5 ? ['--all'] : []), '--json']);
      assert.notEqual(v.code, 2, `run ${runs}: ${v.stderr}`);
      assert.doesNotMatch(v.stderr, /ENOENT|ERR_NOT_FOUND/);
    }
  } finally {
    for (const w of ws) w.child.kill('SIGKILL');
    await Promise.all(ws.map((w) => w.done));
  }
  assert.ok(listRotated(file).length > 1510, 'rotations happened during the runs');
});

// ---- #14 item 9: thousands of rotated files, retention on the CLI ------------------------------

test('verify --all and stats --all over 1,200 rotated files with 128 descriptors: no EMFILE', { timeout: 120_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const t0 = Date.UTC(2026, 10, 1);
  for (let i = 0; i < 1200; i++) {
    const line = buildLine(`id-${i}`, new Date(t0 + i * 1000).toISOString(), 'many-files', i, '"files.many"', '"cli"', `{"i":${i}}`);
    fs.writeFileSync(rotatedName(file, new Date(t0 + i * 1000)), line, { mode: 0o600 });
  }
  fs.writeFileSync(file, buildLine('id-live', new Date(t0 + 1200 * 1000).toISOString(), 'many-files', 1200, '"files.many"', '"cli"', '{}'), { mode: 0o600 });
  const limited = (cmd: string): Promise<Done> => run('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" "${CLI}" ${cmd} --file "${file}" --all --json`]).done;
  const v = await limited('verify');
  assert.equal(v.code, 0, v.stderr.slice(0, 2000));
  const rep = JSON.parse(v.stdout) as { clean: boolean; files: unknown[]; totals: { valid: number; lost: number } };
  assert.equal(rep.files.length, 1201);
  assert.equal(rep.totals.valid, 1201);
  assert.equal(rep.totals.lost, 0, 'read in write order, one sequence');
  const s = await limited('stats');
  assert.equal(s.code, 0, s.stderr.slice(0, 2000));
  assert.equal((JSON.parse(s.stdout) as { events: number }).events, 1201);
});

test('record --max-files / --max-age-days: retention from the CLI', { timeout: 60_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const old = rotatedName(file, new Date(Date.UTC(2020, 0, 1)));
  fs.writeFileSync(old, '', { mode: 0o600 });
  const r = await cli(['record', '--file', file, '--rotate-bytes', '4096', '--max-files', '3', '--max-age-days', '30'], { input: lines(400) });
  assert.equal(r.code, 0, r.stderr);
  const rotated = listRotated(file);
  assert.equal(rotated.length, 3, 'only the 3 newest rotated files are kept');
  assert.equal(fs.existsSync(old), false, 'the 2020 file is gone');
  const bad = await cli(['record', '--file', file, '--max-files', 'x'], { input: '' });
  assert.equal(bad.code, 2);
});
