/**
 * Ship tier, hostile payloads: two distinct events must stay two rows under FINAL. A sid holding a
 * lone UTF-16 surrogate (JSON allows "\ud800"; seed-style Python writers produce it) is valid for
 * verify, but UTF-8 has no lone surrogates: both "\ud800" and "\udbff" reach ClickHouse as U+FFFD, so
 * two events with the same seq collapse into one row under FINAL — one is silently lost.
 * rows.ts ships such a sid as its JSON escape text (sidText), which keeps them apart.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clickHouseForFile } from '../helpers/clickhouseFile';
import { tmpDir } from '../helpers/tmp';
import { shipCli } from '../helpers/shipfix';

const { skip, ch } = clickHouseForFile();

const line = (sid: string, seq: number): string =>
  JSON.stringify({ v: 1, id: `id-${seq}-${sid.charCodeAt(0)}`, ts: '2026-11-28T10:00:00.000Z', sid, seq, type: 'ai.completion.shown', source: 'cli', data: { 'gen_ai.request.model': 'm' } });

test('sids that differ only in lone surrogates stay distinct rows under FINAL', { skip, timeout: 120_000 }, async () => {
  const file = path.join(tmpDir('lts-shiph-'), 'events.jsonl');
  fs.writeFileSync(file, [line('w\ud800', 0), line('w\udbff', 0), line('w\udfff', 0)].join('\n') + '\n', { mode: 0o600 });
  const r = await shipCli(['--url', ch.url, '--file', file, '--database', 'hostile', '--json']).done;
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { shipped: number; invalid: number };
  assert.equal(res.shipped + res.invalid, 3);
  assert.equal(await ch.scalar('SELECT count() FROM hostile.events FINAL'), res.shipped, 'every shipped event is its own row under FINAL');
});
