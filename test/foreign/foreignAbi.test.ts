/**
 * Foreign-ABI tier (test/run.mjs foreign-abi): everything here runs under a Node whose ABI differs
 * from the Node that built fs-ext (LTS_FOREIGN_NODE, installed from the npm registry by the harness),
 * the situation of desktop VS Code's Electron. The sink must still use real flock, through koffi.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { analyze, seqReport } from '../helpers/analyze';
import { CLI, FIXTURES, lastJson, ROOT, run, writer } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { assertExcluded, criticalSection } from '../helpers/criticalSection';

const NODE = process.env.LTS_FOREIGN_NODE;
const skip = !NODE && 'LTS_FOREIGN_NODE not set (run through `node test/run.mjs foreign-abi`)';
const foreign = (): { node: string; modules: string } => {
  const modules = spawnSync(NODE!, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).stdout.trim();
  return { node: NODE!, modules };
};
const REASON = (): string => `flock via koffi: fs-ext built for modules ${process.versions.modules}, this runtime is ${foreign().modules}`;

test('the foreign Node has another ABI, and the fs-ext binary npm ci built fails to load under it', { skip }, () => {
  const { node, modules } = foreign();
  assert.notEqual(modules, process.versions.modules);
  const r = spawnSync(node, ['-e', "require('fs-ext')"], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(r.status, 0, 'fs-ext must not load');
  assert.match(r.stderr, new RegExp(`NODE_MODULE_VERSION ${process.versions.modules}\\. This version of Node\\.js requires\\s+NODE_MODULE_VERSION ${modules}`));
});

test('the CLI under it locks with flock via koffi, and says why in session.start, session.end and the log', { skip }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const r = await run(foreign().node, [CLI, 'record', '--file', file], { input: '{"type":"abi.test","data":{}}\n', env: { ...process.env, TELEMETRY_SINK_VERBOSE: '1' } }).done;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`lock backend flock (${REASON()})`), r.stderr);
  const v = analyze([file]).valid;
  const start = v.find((e) => e.type === 'session.start')!.data;
  assert.equal(start.lock_backend, 'flock');
  assert.equal(start.lock_provider, 'koffi');
  assert.equal(start.lock_backend_reason, REASON());
  const end = v.find((e) => e.type === 'session.end')!.data.stats as { backend: string; lockProvider: string; backendReason: string };
  assert.deepEqual([end.backend, end.lockProvider, end.backendReason], ['flock', 'koffi', REASON()]);
});

test('a Python fcntl.flock holder excludes it: its write lands after the holder releases', { skip, timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  assertExcluded(await criticalSection(file, 'python', 1500, () => run(foreign().node, [CLI, 'record', '--file', file], { input: '{"type":"abi.test","data":{}}\n' })), 'koffi');
});

test('4 writers under it + 2 seed Python writers: 0 corrupt, 0 lost lines, and verify under it says clean', { skip, timeout: 120_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const py = Array.from({ length: 2 }, () => run('python3', [path.join(FIXTURES, 'seed_writer.py'), file, '1500']));
  // lock 'auto': the chain must find koffi on its own.
  const ws = Array.from({ length: 4 }, () => writer({ file, count: 3000, burst: 20, eventBytes: 2000, rotateBytes: 0 }, {}, foreign().node));
  const pyDone = await Promise.all(py.map((p) => p.done));
  const wDone = await Promise.all(ws.map((w) => w.done));
  for (const d of [...pyDone, ...wDone]) assert.equal(d.code, 0, d.stderr);
  for (const d of wDone) assert.equal(lastJson<{ stats: { lockProvider: string } }>(d.stdout).stats.lockProvider, 'koffi');
  const a = analyze([file]);
  assert.deepEqual(a.invalid, [], '0 corrupt lines');
  assert.equal(a.crcBad, 0);
  const pySids = pyDone.map((d) => lastJson<{ sid: string }>(d.stdout).sid);
  for (const sid of [...pySids, ...(await Promise.all(ws.map((w) => w.sid)))]) {
    const s = seqReport(a.bySid.get(sid) ?? []);
    assert.equal(s.count, pySids.includes(sid) ? 1500 : 3002, `every event of ${sid}`);
    assert.deepEqual([s.missing, s.duplicates], [[], []]);
  }
  const v = await run(foreign().node, [CLI, 'verify', '--file', file, '--json']).done;
  assert.equal(v.code, 0, v.stderr);
  assert.equal((JSON.parse(v.stdout) as { clean: boolean }).clean, true);
});
