import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { rotatedName } from '../../src/core/sink/rotation';
import { scanLines } from '../../src/core/integrity/reader';
import { readCanonicalLines } from '../../src/core/integrity/canonicalLines';
import { openSet } from '../../src/core/integrity/fileset';
import { rebuild, repair } from '../../src/core/integrity/repair';
import { verify } from '../../src/core/integrity/verify';
import { StatsStore } from '../../src/core/insights/store';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-rep-');
const SID = 'rep00000-0000-4000-8000-000000000000';
const ev = (seq: number, pad = 0): string => buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, '2026-11-28T03:00:00.000Z', SID, seq, '"repair.test"', '"cli"', `{"n":${seq},"p":"${'x'.repeat(pad)}"}`);
const goods = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i)).join('');
const isErr = (code: string, re?: RegExp) => (e: Error & { code?: string }) => e.code === code && (!re || re.test(e.message));
const artifacts = (dir: string): string[] => fs.readdirSync(dir).filter((n) => n.includes('.repair-') && !n.endsWith('.repair-epoch'));

function damaged(dir: string, name = 'events.jsonl'): { file: string; original: Buffer } {
  const file = path.join(dir, name);
  const original = Buffer.from(goods(0, 9) + 'junk line\n' + goods(10, 19));
  fs.writeFileSync(file, original, { mode: 0o600 });
  return { file, original };
}

test('a reader that sized the file before a repair gets ERR_CHANGED, not false problems', async () => {
  const { file } = damaged(tmp());
  const set = await openSet(file, false);
  try {
    await repair({ file });
    await set.withFile(0, async (fd, f) => {
      await assert.rejects(scanLines(file, f.size, () => undefined, { fd }), isErr('ERR_CHANGED', /a repair changed events\.jsonl/));
    });
  } finally {
    set.close();
  }
  assert.equal((await verify({ file })).clean, true, 'a fresh read after the repair is clean');
});

test('a repair of another file of the set (a rotated one) also ends readers of the live file with ERR_CHANGED', async () => {
  const dir = tmp();
  const live = path.join(dir, 'events.jsonl');
  const { file: rotated } = damaged(dir, path.basename(rotatedName(live)));
  fs.writeFileSync(live, goods(20, 25));
  const set = await openSet(live, true);
  try {
    assert.equal(set.files.length, 2);
    const r = await repair({ file: rotated });
    assert.equal(r.clean, false);
    await set.withFile(1, async (fd, f) => {
      await assert.rejects(scanLines(live, f.size, () => undefined, { fd }), isErr('ERR_CHANGED'));
    });
  } finally {
    set.close();
  }
});

test('a repair stopped after committing its journal: verify and stats refuse (ERR_CHANGED), the next repair finishes it', async () => {
  const dir = tmp();
  const { file, original } = damaged(dir);
  await assert.rejects(
    repair({
      file,
      testHook: (s) => {
        if (s === 'apply-partial') throw Object.assign(new Error('simulated I/O fault'), { code: 'EIO' });
      },
      ioChunkBytes: 64,
    }),
    isErr('ERR_WRITE', /run repair again to finish it/),
  );
  assert.ok(artifacts(dir).some((n) => n.endsWith('.journal')), 'the journal stays for the next repair');
  await assert.rejects(verify({ file }), isErr('ERR_CHANGED', /interrupted; run repair/));
  await assert.rejects(new StatsStore(file, { cacheFile: null }).refresh(), isErr('ERR_CHANGED'));
  const r = await repair({ file });
  assert.equal(r.recovered.length, 1, r.recovered.join('; '));
  assert.match(r.recovered[0]!, /finished a repair of events\.jsonl/);
  assert.equal(r.clean, true, 'nothing left to move after the recovery');
  assert.deepEqual(artifacts(dir), []);
  const q = fs.readdirSync(dir).filter((n) => n.includes('.quarantine-'));
  assert.equal(q.length, 1);
  assert.ok((await rebuild(file, path.join(dir, q[0]!))).equals(original), 'kept + quarantined = original');
  assert.equal((await verify({ file })).clean, true);
});

test('a failure before the commit leaves the file untouched and nothing behind', async () => {
  const dir = tmp();
  const { file, original } = damaged(dir);
  for (const step of ['linked', 'split-partial', 'split'] as const) {
    await assert.rejects(repair({ file, testHook: (s) => { if (s === step) throw Object.assign(new Error('simulated ENOSPC'), { code: 'ENOSPC' }); } }), (e: Error & { code?: string; sysCode?: string }) => e.code === 'ERR_WRITE' && e.sysCode === 'ENOSPC' && /untouched/.test(e.message));
    assert.ok(fs.readFileSync(file).equals(original), `after a failure at ${step}: untouched`);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n !== 'events.jsonl' && !n.endsWith('.repair-epoch')), [], `after a failure at ${step}: no temp or quarantine file left`);
  }
});

test('a file name taken by someone else is never replaced by a quarantine', async () => {
  const dir = tmp();
  const { file, original } = damaged(dir);
  let squatted = '';
  const r = await repair({
    file,
    testHook: (s) => {
      if (s !== 'committed') return;
      const j = fs.readdirSync(dir).find((n) => n.endsWith('.journal'))!;
      squatted = path.join(dir, (JSON.parse(fs.readFileSync(path.join(dir, j), 'utf8').slice(0, 4096).trim()) as { quarantine: string }).quarantine);
      fs.writeFileSync(squatted, 'not yours\n');
    },
  });
  assert.equal(fs.readFileSync(squatted, 'utf8'), 'not yours\n');
  assert.notEqual(r.quarantine, squatted);
  assert.ok((await rebuild(file, r.quarantine!)).equals(original));
});

test('symlinks and non-regular files are refused with ERR_NOT_REGULAR; the link stays a link', async () => {
  const dir = tmp();
  const { file: target, original } = damaged(dir, 'real.jsonl');
  const link = path.join(dir, 'events.jsonl');
  fs.symlinkSync(target, link);
  await assert.rejects(repair({ file: link }), isErr('ERR_NOT_REGULAR', /symbolic link \(to .*real\.jsonl\); run repair on the file it points to/));
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.ok(fs.readFileSync(target).equals(original), 'the target was not touched through the link');
  const r = await repair({ file: target });
  assert.equal(r.clean, false, 'the target itself is repaired');
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'and the link is still a link to it');
  await assert.rejects(repair({ file: dir }), isErr('ERR_NOT_REGULAR', /is a folder/));
});

test('a rotated file removed before repair reaches it is reported as removed, not an error', async () => {
  const dir = tmp();
  const live = path.join(dir, 'events.jsonl');
  fs.writeFileSync(live, goods(0, 1));
  const r = await repair({ file: rotatedName(live) });
  assert.equal(r.removed, true);
  await assert.rejects(repair({ file: path.join(dir, 'missing.jsonl') }), isErr('ERR_NOT_FOUND'));
});

test('leftovers of the earlier repair (temp file, empty quarantine) are removed by the next repair', async () => {
  const dir = tmp();
  const { file } = damaged(dir);
  const tmpLeft = path.join(dir, '.events.repair-0a1b2c3d.tmp');
  const emptyQ = path.join(dir, 'events.quarantine-20261128T031347123Z.jsonl');
  const keptQ = path.join(dir, 'events.quarantine-20261128T031348123Z.jsonl');
  fs.writeFileSync(tmpLeft, 'x'.repeat(1000));
  fs.writeFileSync(emptyQ, '');
  fs.writeFileSync(keptQ, '{"line":1}\n');
  const r = await repair({ file });
  assert.equal(fs.existsSync(tmpLeft), false);
  assert.equal(fs.existsSync(emptyQ), false);
  assert.equal(fs.existsSync(keptQ), true, 'a quarantine with content is a result, never removed');
  assert.equal(r.recovered.length, 2, r.recovered.join('; '));
});

test('repair of a clean file after a long valid prefix touches nothing and reads the prefix without the exclusive lock', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, goods(0, 499));
  const before = fs.statSync(file);
  const steps: string[] = [];
  const r = await repair({ file, testHook: (s) => void steps.push(s) });
  assert.equal(r.clean, true);
  assert.deepEqual(steps, ['scanned', 'locked']);
  const after = fs.statSync(file);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.equal(after.ino, before.ino);
});

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

test("as root on another user's file: the file keeps owner, group, mode and inode; what repair creates is theirs", { skip: !isRoot && 'needs root' }, async () => {
  const dir = tmp();
  fs.chownSync(dir, NOBODY, NOBODY);
  const { file, original } = damaged(dir);
  fs.chownSync(file, NOBODY, NOBODY);
  fs.chmodSync(file, 0o640);
  const before = fs.statSync(file);
  const r = await repair({ file });
  assert.equal(r.clean, false);
  const after = fs.statSync(file);
  assert.deepEqual([after.uid, after.gid, after.mode, after.ino], [before.uid, before.gid, before.mode, before.ino]);
  for (const p of [r.quarantine!, path.join(dir, '.events.jsonl.repair-epoch')]) {
    const st = fs.statSync(p);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [NOBODY, NOBODY, 0o600], `${path.basename(p)} belongs to the file's owner`);
  }
  assert.ok((await rebuild(file, r.quarantine!)).equals(original));
});

test("not root: another user's file is refused with ERR_OWNER and left alone", { skip: !isRoot && 'needs root to act as another user' }, async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = tmp();
  fs.chmodSync(dir, 0o777);
  const { file, original } = damaged(dir);
  fs.chmodSync(file, 0o666);
  const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'repair', '--file', file], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /belongs to uid 0.*run repair as its owner.*\[ERR_OWNER\]/);
  assert.ok(fs.readFileSync(file).equals(original));
  assert.deepEqual(fs.readdirSync(dir), ['events.jsonl']);
});

test('repair: an epoch path that is not a regular file (a folder, a FIFO planted there) is ERR_READ with the reason, nothing changed, no internal error', async () => {
  for (const plant of ['dir', 'fifo'] as const) {
    const dir = tmp();
    const { file, original } = damaged(dir);
    const epoch = path.join(dir, '.events.jsonl.repair-epoch');
    if (plant === 'dir') fs.mkdirSync(epoch);
    else (await import('node:child_process')).execFileSync('mkfifo', [epoch]);
    await assert.rejects(repair({ file, lockTimeoutMs: 500 }), isErr('ERR_READ', /repair-epoch.*not a regular file/), plant);
    assert.deepEqual(fs.readFileSync(file), original, plant);
    assert.deepEqual(artifacts(dir), [], plant);
  }
});

test('a writer whose last write ended where the file ends again after a repair shrank it still fences a torn tail there', async () => {
  const { Sink } = await import('../../src/core/sink/appender');
  const { analyze } = await import('../helpers/analyze');
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  const sink = new Sink({ file, flushIntervalMs: 60_000 });
  try {
    sink.record('unit.first', {});
    await sink.flush();
    fs.appendFileSync(file, 'junk!\n'); // damage another tool wrote
    sink.record('unit.second', {});
    await sink.flush(); // the writer's last write ends at the file's end
    const r = await repair({ file });
    assert.equal(r.linesMoved, 1);
    fs.appendFileSync(file, '{"torn'); // a crashed writer's fragment, as long as what repair removed
    sink.record('unit.third', {});
    await sink.flush();
  } finally {
    await sink.close();
  }
  const a = analyze([file]);
  assert.deepEqual(a.valid.map((v) => v.type), ['unit.first', 'unit.second', 'unit.third'], 'the fragment did not swallow the next event');
  assert.deepEqual(a.invalid.map((x) => x.text), ['{"torn']);
});

test('a reader that acts on lines between chunks (the shipper) is stopped before it acts on lines read after a repair began', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, 'junk line\n' + goods(0, 199), { mode: 0o600 });
  const set = await openSet(file, false);
  let calls = 0;
  try {
    await set.withFile(0, async (fd, f) => {
      const run = scanLines(file, f.size, () => undefined, {
        fd,
        chunkSize: 4096,
        afterChunk: async () => {
          if (calls++ === 0) await repair({ file }); // bytes move under the reader
        },
      });
      await assert.rejects(run, isErr('ERR_CHANGED'));
    });
  } finally {
    set.close();
  }
  assert.equal(calls, 1, 'no batch of lines read after the repair was handed on');
});

test('the fast reader (stats, ship) is stopped before it acts on lines read after a repair began, too', async () => {
  const dir = tmp();
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, 'junk line\n' + goods(0, 11_999), { mode: 0o600 }); // several read chunks
  const set = await openSet(file, false);
  let calls = 0;
  try {
    await set.withFile(0, async (fd, f) => {
      const visitor = { canonical: () => true, other: () => undefined };
      const run = readCanonicalLines({ fd, path: file, start: 0, end: f.size, maxLine: 1 << 20, afterChunk: async () => {
        if (calls++ === 0) await repair({ file }); // bytes move under the reader
      } }, visitor);
      await assert.rejects(run, isErr('ERR_CHANGED'));
    });
  } finally {
    set.close();
  }
  assert.equal(calls, 1, 'no batch of lines read after the repair was handed on');
});
