/**
 * Does a lock holder that is not us (Python's fcntl.flock, flock(1)) really exclude our writer?
 * The holder writes `holder.enter`, holds the lock, writes `holder.leave`, then releases. A writer
 * started while the lock is held must put every one of its lines after `holder.leave`, and must have
 * started (its session.start timestamp) before the release — else the test proves nothing.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildLine } from '../../src/core/sink/envelope';
import { Done, FIXTURES, run } from './procs';

export type Holder = 'python' | 'flock1';

export interface CriticalSectionResult {
  /** Every line of the file in order (parsed). */
  lines: Array<{ sid: string; type: string; ts: string; data: Record<string, unknown> }>;
  holderSid: string;
  releasedAt: number;
  writer: Done;
}

/** An envelope line with its crc, newline-terminated, as a shell writer would append it. */
const envLine = (sid: string, seq: number, type: string, data: Record<string, unknown> = {}): string =>
  buildLine(randomUUID(), new Date().toISOString(), sid, seq, JSON.stringify(type), '"cli"', JSON.stringify(data));

/** A shell writer: one `flock FILE sh -c 'printf … >> FILE'` per line, `count` lines of its own sid. */
export function flock1Writer(file: string, count: number): ReturnType<typeof run> & { sid: string } {
  const sid = randomUUID();
  const src = file + '.flock1-input';
  fs.writeFileSync(src, Array.from({ length: count }, (_, i) => envLine(sid, i, 'flock1.event', { i })).join(''));
  const script = 'while IFS= read -r l; do flock "$F" sh -c \'printf "%s\\n" "$1" >> "$2"\' _ "$l" "$F"; done < "$SRC"';
  return { sid, ...run('bash', ['-c', script], { env: { ...process.env, F: file, SRC: src } }) };
}

function flock1Holder(file: string, holdMs: number): ReturnType<typeof run> {
  const sid = randomUUID();
  const line = (seq: number, type: string): string => envLine(sid, seq, type);
  const script = 'printf %s "$ENTER" >> "$F"; echo locked; sleep "$HOLD"; printf %s "$LEAVE" >> "$F"; echo "{\\"sid\\":\\"$SID\\",\\"releasedAt\\":$(date +%s%3N)}"';
  return run('flock', [file, 'sh', '-c', script], {
    env: { ...process.env, F: file, HOLD: String(holdMs / 1000), SID: sid, ENTER: line(0, 'holder.enter'), LEAVE: line(1, 'holder.leave') },
  });
}

/**
 * Starts the holder, waits until it holds the lock, then starts the writer. `untilGrows` (Python
 * only) makes the holder release as soon as someone else's bytes appear: the control case.
 */
export async function criticalSection(file: string, holder: Holder, holdMs: number, startWriter: () => { done: Promise<Done> }, untilGrows = false): Promise<CriticalSectionResult> {
  const h = holder === 'python' ? run('python3', [path.join(FIXTURES, 'critical_section.py'), file, String(holdMs), ...(untilGrows ? ['until-grows'] : [])]) : flock1Holder(file, holdMs);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    h.child.stdout!.on('data', (d: string) => {
      out += d;
      if (out.includes('locked')) resolve();
    });
    h.child.on('close', () => reject(new Error(`holder exited before locking: ${out}`)));
  });
  const w = startWriter();
  const [hd, wd] = await Promise.all([h.done, w.done]);
  if (hd.code !== 0) throw new Error(`holder failed: ${hd.stderr}`);
  const last = JSON.parse(hd.stdout.trim().split('\n').pop()!) as { sid: string; releasedAt: number };
  const lines = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CriticalSectionResult['lines'][number]);
  return { lines, holderSid: last.sid, releasedAt: last.releasedAt, writer: wd };
}

/** Where the writer's lines sit relative to the holder's critical section. */
export function placement(r: CriticalSectionResult): { writerLines: number; insideSection: number; beforeEnter: number; firstWriterTs: number } {
  const enter = r.lines.findIndex((l) => l.sid === r.holderSid && l.type === 'holder.enter');
  const leave = r.lines.findIndex((l) => l.sid === r.holderSid && l.type === 'holder.leave');
  const mine = r.lines.map((l, i) => ({ l, i })).filter(({ l }) => l.sid !== r.holderSid);
  return {
    writerLines: mine.length,
    insideSection: mine.filter(({ i }) => i > enter && i < leave).length,
    beforeEnter: mine.filter(({ i }) => i < enter).length,
    firstWriterTs: mine.length ? Date.parse(mine[0]!.l.ts) : NaN,
  };
}

/**
 * The writer (a `telemetry-sink record` of one event) honoured the holder's lock: it ran while the
 * lock was held, and all three of its lines (session.start, the event, session.end) came after the
 * holder left, written through `provider`.
 */
export function assertExcluded(r: CriticalSectionResult, provider: string): void {
  assert.equal(r.writer.code, 0, r.writer.stderr);
  const p = placement(r);
  assert.equal(p.writerLines, 3, 'session.start, the event, session.end');
  assert.ok(p.firstWriterTs < r.releasedAt, 'the writer was running while the lock was held (else this proves nothing)');
  assert.equal(p.beforeEnter + p.insideSection, 0, "nothing of ours before or inside the holder's critical section");
  assert.equal(r.lines.find((l) => l.type === 'session.start')!.data.lock_provider, provider);
}
