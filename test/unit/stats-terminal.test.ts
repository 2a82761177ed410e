/**
 * `telemetry-sink stats --csv` on a terminal: model and language names come from the file (anyone who
 * can record an event), so OSC 52 (write the clipboard), clear-screen or bidi overrides in them must
 * not act on the terminal. Redirected to a file or a pipe, the CSV stays byte-exact.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runStats } from '../../src/cli/stats';
import { spawnSync } from 'node:child_process';
import { formatStats, terminalCsv } from '../../src/core/report/statsText';
import { renderStatsHtml } from '../../src/core/report/statsHtml';
import { stats } from '../../src/core/insights/stats';
import { CLI } from '../helpers/procs';
import { ai, tmpEvents } from '../helpers/statsEvents';

const EVIL = '\x1b]52;c;ZXZpbA==\x07m\x1b[2J\u202e';

async function csvOut(isTTY: boolean, file: string): Promise<string> {
  const out = process.stdout as NodeJS.WriteStream & { isTTY?: boolean };
  const had = Object.getOwnPropertyDescriptor(out, 'isTTY');
  const write = out.write;
  let got = '';
  Object.defineProperty(out, 'isTTY', { value: isTTY, configurable: true, writable: true });
  // Strings are what runStats writes; the test runner's own protocol goes through as buffers.
  out.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((got += chunk), true) : write.call(out, chunk, ...rest))) as typeof out.write;
  try {
    assert.equal(await runStats(['--file', file, '--range', 'all', '--csv', '--table', 'ai-by-model']), 0);
  } finally {
    out.write = write;
    if (had) Object.defineProperty(out, 'isTTY', had);
    else delete (out as { isTTY?: boolean }).isTTY;
  }
  return got;
}

test('stats --csv on a terminal shows control characters from the file as escapes; piped it stays exact', async () => {
  const { file } = tmpEvents(ai(Date.now() - 60_000, 'shown', { 'gen_ai.request.model': EVIL, 'gen_ai.provider.name': 'p\r\nq' }));
  const tty = await csvOut(true, file);
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  assert.doesNotMatch(tty.replace(/\r\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  assert.ok(tty.includes('\\x1b]52;c;ZXZpbA==\\x07m\\x1b[2J\\u202e'), tty);
  const piped = await csvOut(false, file);
  assert.ok(piped.includes(EVIL), 'redirected output keeps the exact value');
  assert.equal(terminalCsv('a,b\r\n"x\r\ny",\x1b\r\n'), 'a,b\r\n"x\r\ny",\\x1b\r\n');
});

test('a TZ that ICU cannot name (TZ=:/usr/share/zoneinfo/…, valid for glibc) does not crash stats or the page', async () => {
  const { file } = tmpEvents(ai(Date.now() - 60_000, 'shown', { latency_ms: 5 }));
  for (const args of [[], ['--csv'], ['--json']]) {
    const r = spawnSync(process.execPath, [CLI, 'stats', '--file', file, '--range', '7d', ...args], { encoding: 'utf8', env: { ...process.env, TZ: ':/usr/share/zoneinfo/Asia/Tokyo' } });
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  const s = await stats({ file, range: '7d' });
  const unnamed = { ...s, range: { ...s.range, timeZone: undefined as unknown as string } };
  assert.match(formatStats(unnamed), /^Last 7 days \(local time\)/);
  assert.match(renderStatsHtml(unnamed, undefined, 'N', 'x'), /times in local time/);
});

test('a cache built under one unnamed zone is rebuilt under another (day buckets differ: Tokyo vs Kolkata)', () => {
  // 16:00 UTC is 01:00 the next day in Tokyo (+9) and 21:30 the same day in Kolkata (+5:30).
  const t = Date.UTC(2026, 10, 20, 16, 0, 0);
  const { file } = tmpEvents(ai(t, 'accepted', { latency_ms: 5 }));
  const days = (zone: string): string[] => {
    const r = spawnSync(process.execPath, [CLI, 'stats', '--file', file, '--json'], { encoding: 'utf8', env: { ...process.env, TZ: `:/usr/share/zoneinfo/${zone}` } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.stringify(JSON.parse(r.stdout)).match(/20\d\d-\d\d-\d\d/g) ?? [];
  };
  const fresh = (zone: string): string[] => {
    const r = spawnSync(process.execPath, [CLI, 'stats', '--file', file, '--json', '--no-cache'], { encoding: 'utf8', env: { ...process.env, TZ: `:/usr/share/zoneinfo/${zone}` } });
    return JSON.stringify(JSON.parse(r.stdout)).match(/20\d\d-\d\d-\d\d/g) ?? [];
  };
  days('Asia/Tokyo'); // builds the cache
  assert.deepEqual(days('Asia/Kolkata'), fresh('Asia/Kolkata'), 'the Kolkata report equals a no-cache run');
});
