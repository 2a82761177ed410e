/**
 * The file system under the sink, in-process (issues #14 items 8, 9, 12 and #13 item 1): the line cap
 * writer and verify share, the live path during a rotation, retention outside the lock, symlinks
 * and unsafe folders, empty lock files.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fsModule from 'node:fs';
import * as path from 'node:path';
import { Sink } from '../../src/core/sink/appender';
import { LockfileBackend, markerPath } from '../../src/core/sink/locks';
import { applyRetention, listRotated } from '../../src/core/sink/rotation';
import { LineSplitter } from '../../src/cli/lines';
import { verify } from '../../src/core/integrity/verify';
import { analyze } from '../helpers/analyze';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-files-');
const onPosix = typeof process.getuid === 'function';
const MIB = 1024 * 1024;

/** Replaces fs[name] for the duration of fn (the sink calls fs through the module object). */
async function patched<K extends keyof typeof fs>(name: K, wrap: (orig: (typeof fs)[K]) => (typeof fs)[K], fn: () => Promise<void> | void): Promise<void> {
  const mod = fsModule;
  const orig = mod[name];
  (mod as Record<string, unknown>)[name] = wrap(orig);
  try {
    await fn();
  } finally {
    (mod as Record<string, unknown>)[name] = orig;
  }
}

test('line cap: the writer accepts a line of exactly 1 MiB and refuses one byte more, whatever the source; verify agrees', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  // A long source name: the old size check guessed the envelope at 200 bytes and ignored it.
  const source = 'api:' + 'x'.repeat(120);
  const sink = new Sink({ file, source });
  sink.record('cap.probe', { pad: '' });
  await sink.flush();
  const probe = fs.readFileSync(file).length - 1; // without its newline
  const exact = MIB - probe;
  sink.record('cap.probe', { pad: 'p'.repeat(exact) });
  assert.throws(() => sink.record('cap.probe', { pad: 'p'.repeat(exact + 1) }), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_EVENT' && /1048576/.test(e.message));
  await sink.close();
  const lens = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => Buffer.byteLength(l));
  assert.deepEqual(lens, [probe, MIB]);
  const r = await verify({ file });
  assert.equal(r.clean, true, JSON.stringify(r.problems));
});

test('rotation: the live path exists at every step (readers never get ENOENT from a rotation)', async () => {
  const file = path.join(tmp(), 'e.jsonl');
  const sink = new Sink({ file, rotation: { maxBytes: 2048, maxFiles: 0 } });
  let steps = 0;
  let missing = 0;
  const check = (): void => {
    steps++;
    if (!fs.existsSync(file)) missing++;
  };
  await patched('renameSync', (orig) => ((a: fs.PathLike, b: fs.PathLike) => (orig(a, b), check())) as typeof fs.renameSync, async () => {
    await patched('linkSync', (orig) => ((a: fs.PathLike, b: fs.PathLike) => (orig(a, b), check())) as typeof fs.linkSync, async () => {
      for (let i = 0; i < 100; i++) sink.record('rot.step', { i, pad: 'r'.repeat(60) });
      await sink.flush();
      await sink.rotateNow();
    });
  });
  await sink.close();
  assert.ok(steps >= 4, `${steps} rotation steps seen`);
  assert.equal(missing, 0, `the live path was missing after ${missing} of ${steps} rotation steps`);
  const rotated = listRotated(file);
  assert.ok(rotated.length >= 3);
  const a = analyze([...rotated.map((r) => r.path), file]);
  assert.equal(a.valid.length, 100);
  assert.deepEqual(a.invalid, []);
});

test('rotation: retention lists the folder only after the lock is released', async () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  const sink = new Sink({ file, lock: 'lockfile', rotation: { maxBytes: 2048, maxFiles: 2 } });
  fs.writeFileSync(markerPath(file), JSON.stringify({ since: 0 })); // no grace wait in this test
  const underLock: number[] = [];
  let listings = 0;
  await patched('readdirSync', (orig) => ((...args: Parameters<typeof fs.readdirSync>) => {
    if (String(args[0]) === dir) {
      listings++;
      if (fs.existsSync(file + '.lock')) underLock.push(listings);
    }
    return orig(...args);
  }) as typeof fs.readdirSync, async () => {
    for (let i = 0; i < 100; i++) sink.record('rot.ret', { i, pad: 'r'.repeat(60) });
    await sink.flush();
    await new Promise((r) => setImmediate(r));
  });
  await sink.close();
  assert.ok(listings > 0, 'retention ran');
  assert.deepEqual(underLock, [], 'no listing of the folder while the lock was held');
  assert.equal(listRotated(file).length, 2);
});

test('symlinks: the sink refuses a live file that is a symlink and never writes the marker through one', { skip: !onPosix && 'POSIX only' }, () => {
  const dir = tmp();
  const target = path.join(dir, 'precious.txt');
  fs.writeFileSync(target, 'precious\n');
  const file = path.join(dir, 'e.jsonl');
  fs.symlinkSync(target, file);
  assert.throws(() => new Sink({ file }), (e: { code?: string; message: string }) => e.code === 'ERR_NOT_REGULAR' && /symbolic link/.test(e.message));
  fs.unlinkSync(file);
  fs.symlinkSync(target, markerPath(file));
  const lf = new LockfileBackend(file + '.lock');
  assert.equal(lf.tryLock(), false, 'revived the marker; waits its grace');
  assert.equal(fs.readFileSync(target, 'utf8'), 'precious\n', 'the symlink target is untouched');
  assert.equal(fs.lstatSync(markerPath(file)).isFile(), true, 'the marker is a regular file now');
  assert.equal(fs.readdirSync(dir).filter((n) => n.includes('.tmp')).length, 0, 'no temp file left');
});

test('unsafe folders: group/other-writable refused with ERR_UNSAFE_DIR naming the folder; sticky and ours accepted', { skip: !onPosix && 'POSIX only' }, async () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  for (const mode of [0o777, 0o770, 0o722]) {
    fs.chmodSync(dir, mode);
    assert.throws(() => new Sink({ file }), (e: { code?: string; message: string }) => e.code === 'ERR_UNSAFE_DIR' && e.message.includes(dir) && /chmod go-w/.test(e.message), mode.toString(8));
  }
  assert.equal(fs.existsSync(file), false, 'nothing created in an unsafe folder');
  await assert.rejects(verify({ file }), (e: { code?: string }) => e.code === 'ERR_UNSAFE_DIR');
  fs.chmodSync(dir, 0o1777);
  const sink = new Sink({ file });
  sink.record('sticky.ok', {});
  const res = await sink.close();
  assert.equal(res.error, undefined);
  fs.chmodSync(dir, 0o700);
  assert.equal((await verify({ file })).clean, true);
});

test('lock files: an empty one (a crash or a full disk between create and write) is stale after 1 s, not 10', () => {
  const dir = tmp();
  const lp = path.join(dir, 'e.jsonl.lock');
  fs.writeFileSync(lp, '');
  const b = new LockfileBackend(lp, { staleMs: 60_000, announce: false });
  assert.equal(b.tryLock(), false, 'a fresh empty lock may be a holder between create and write');
  const old = new Date(Date.now() - 1500);
  fs.utimesSync(lp, old, old);
  assert.equal(b.tryLock(), false, 'the break itself does not take the lock');
  assert.equal(b.counters.staleBroken, 1);
  assert.equal(b.tryLock(), true);
  b.unlock();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('retention sweeps what a writer killed mid-step left (rotation temp, marker temp, lock set aside), once a minute old', () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  const leftovers = ['.e.jsonl.rotate-0a0b0c0d', '.e.jsonl.lockfile-users.tmp-01020304', 'e.jsonl.lock.stale-123-abcdef012345'].map((n) => path.join(dir, n));
  for (const p of leftovers) fs.writeFileSync(p, '');
  const young = path.join(dir, '.e.jsonl.rotate-ffffffff');
  fs.writeFileSync(young, '');
  const old = new Date(Date.now() - 120_000);
  for (const p of leftovers) fs.utimesSync(p, old, old);
  assert.deepEqual(applyRetention(file, { maxFiles: 0, maxAgeDays: 0 }), []);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(young)], 'old leftovers gone, a young one (maybe in use) kept');
});

test('record input: lines split in bounded memory; over-cap lines reported by number, CRLF accepted', () => {
  const got: Array<[number, string | undefined, number]> = [];
  const sp = new LineSplitter(8, (l) => got.push([l.line, l.bytes?.toString(), l.length]));
  sp.push(Buffer.from('abc\r\nabcdefgh'));
  sp.push(Buffer.from('ij'));
  assert.equal(sp.pendingBytes, 10);
  sp.push(Buffer.from('klmnop\n\n12345678\r\nlast'));
  sp.end();
  assert.deepEqual(got, [[1, 'abc', 3], [2, undefined, 16], [3, '', 0], [4, '12345678', 8], [5, 'last', 4]]);
});
