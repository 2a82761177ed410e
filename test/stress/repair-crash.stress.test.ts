/**
 * kill -9 of a repair at every step, then a recovering repair (itself killed at some step in one
 * variant), with and without writers appending between the crash and the recovery. After the next
 * repairs the proof must hold byte for byte: undoing every quarantine (newest first) gives back the
 * original followed by exactly what was appended — nothing lost, nothing twice — and no repair
 * artifact is left behind.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { Sink } from '../../src/core/sink/appender';
import { rebuild, repair, RepairResult, RepairStep } from '../../src/core/integrity/repair';
import { verify } from '../../src/core/integrity/verify';
import { ROOT, run } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';

const REPAIRER = path.join(ROOT, 'out', 'test', 'fixtures', 'repairer.js');
/** A small cap, so a long line (streamed to the quarantine) costs little here. */
const MAX_LINE = 4096;
const SID = 'crash000-0000-4000-8000-000000000000';
const HAPPY: RepairStep[] = ['scanned', 'locked', 'linked', 'split-partial', 'split', 'committed', 'quarantined', 'epoch', 'apply-partial', 'applied-data', 'filler', 'marked', 'truncated', 'unjournaled', 'unlinked'];
/** Steps a recovering repair passes (which ones depends on where the first one died). */
const RECOVERY: RepairStep[] = ['apply-partial', 'recommitted', 'marked', 'truncated', 'unjournaled'];

function original(): Buffer {
  const ev = (seq: number): string => buildLine(`00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, '2026-11-28T03:00:00.000Z', SID, seq, '"crash.test"', '"cli"', `{"n":${seq},"pad":"${'p'.repeat(seq * 7)}"}`);
  const parts: Array<string | Buffer> = [];
  for (let s = 0; s < 40; s++) {
    parts.push(ev(s));
    if (s === 5) parts.push('not json at all\n');
    if (s === 12) parts.push('\n');
    if (s === 20) parts.push(Buffer.alloc(10_000)); // a zero-filled line over the cap (4 KiB here)…
    if (s === 20) parts.push('\n');
    if (s === 30) parts.push(Buffer.from([0xff, 0xfe, 0x7b, 0x0a])); // …invalid UTF-8…
  }
  parts.push('{"v":1,"id":"torn'); // …and a torn tail without newline
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

async function child(file: string, killAt?: RepairStep): Promise<{ killed: boolean; out: string }> {
  const d = await run(process.execPath, [REPAIRER, JSON.stringify({ file, killAt, ioChunkBytes: 4096, maxLineBytes: MAX_LINE })]).done;
  if (d.signal !== 'SIGKILL') assert.equal(d.code, 0, `repairer (killAt ${killAt}) failed: ${d.stdout} ${d.stderr}`);
  return { killed: d.signal === 'SIGKILL', out: d.stdout };
}

async function appendEvents(file: string): Promise<Buffer> {
  const before = fs.statSync(file).size;
  const sink = new Sink({ file, lock: 'flock', flushIntervalMs: 5 });
  for (let i = 0; i < 3; i++) sink.record('crash.late', { i });
  const r = await sink.close();
  assert.equal(r.pending, 0, r.error?.message);
  const all = fs.readFileSync(file);
  return all.subarray(before); // exactly what the writer appended (its fence included)
}

/** Repairs until a run finds nothing to do; returns the quarantine files made, oldest first. */
async function repairUntilClean(file: string): Promise<string[]> {
  const made: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r: RepairResult = await repair({ file, ioChunkBytes: 4096, maxLineBytes: MAX_LINE });
    if (r.quarantine) made.push(r.quarantine);
    if (r.clean && !r.recovered.length) return made;
  }
  throw new Error('repair never came clean');
}

function quarantines(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.includes('.quarantine-') && !n.startsWith('.'))
    .map((n) => path.join(dir, n));
}

async function scenario(step: RepairStep, opts: { append: boolean; recoveryKill?: RepairStep }): Promise<void> {
  const dir = tmpDir('lts-crash-');
  const file = path.join(dir, 'events.jsonl');
  const orig = original();
  fs.writeFileSync(file, orig, { mode: 0o600 });
  const first = await child(file, step);
  assert.ok(first.killed, `the repair reached step ${step}`);
  const appended = opts.append ? await appendEvents(file) : Buffer.alloc(0);
  if (opts.recoveryKill) await child(file, opts.recoveryKill);
  await repairUntilClean(file);
  const where = `killed at ${step}${opts.append ? ', lines appended after' : ''}${opts.recoveryKill ? `, recovery killed at ${opts.recoveryKill}` : ''}`;
  const left = fs.readdirSync(dir).filter((n) => n.includes('.repair-') && !n.endsWith('.repair-epoch'));
  assert.deepEqual(left, [], `${where}: no repair artifact left`);
  // Undo every quarantine, newest first: the original, then what was appended.
  const qs = quarantines(dir).sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs || a.localeCompare(b));
  assert.ok(qs.length >= 1, `${where}: a quarantine file exists`);
  for (const q of qs) assert.ok(fs.statSync(q).size > 0, `${where}: no empty quarantine (${path.basename(q)})`);
  let cur = file;
  for (const q of [...qs].reverse()) {
    const next = path.join(dir, `rebuilt-${path.basename(q)}`);
    fs.writeFileSync(next, await rebuild(cur, q));
    cur = next;
  }
  const got = fs.readFileSync(cur);
  const want = Buffer.concat([orig, appended]);
  assert.ok(got.equals(want), `${where}: kept + quarantined = original + appended, byte for byte (got ${got.length} bytes, want ${want.length})`);
  const v = await verify({ file, maxLineBytes: MAX_LINE });
  assert.equal(v.totals.invalid, 0, `${where}: the repaired file has no damaged line`);
  fs.rmSync(dir, { recursive: true, force: true });
}

test('kill -9 at every step of repair, then a recovering repair: byte for byte, nothing left behind', { timeout: 300_000 }, async () => {
  for (const step of HAPPY) await scenario(step, { append: false });
});

test('kill -9 at every step, writers append before the recovery (cut or not cut): byte for byte', { timeout: 300_000 }, async () => {
  for (const step of HAPPY) await scenario(step, { append: true });
});

test('kill -9 at every step, writers append, and the recovering repair is killed too', { timeout: 300_000 }, async () => {
  let i = 0;
  for (const step of HAPPY) await scenario(step, { append: true, recoveryKill: RECOVERY[i++ % RECOVERY.length] });
});
