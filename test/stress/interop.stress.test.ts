/**
 * Exclusion against lock holders that are not this project: the seed's Python writers
 * (fcntl.flock) and shell scripts (flock(1)), for each flock provider.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CLI, run } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { assertExcluded, criticalSection, Holder, placement } from '../helpers/criticalSection';
import { FLOCK_VARIANTS } from '../helpers/providers';

const HOLD_MS = 1500;
const recordOne = (file: string, lock: string, env: NodeJS.ProcessEnv) => (): ReturnType<typeof run> =>
  run(process.execPath, [CLI, 'record', '--file', file, '--lock', lock], { input: '{"type":"interop.test","data":{}}\n', env: { ...process.env, ...env } });

for (const v of FLOCK_VARIANTS) {
  for (const holder of ['python', 'flock1'] as Holder[]) {
    test(`${v.name}: a ${holder === 'python' ? 'Python fcntl.flock' : 'flock(1)'} holder excludes our writer; its lines land after the holder leaves`, { timeout: 30_000 }, async () => {
      const file = path.join(tmpDir(), 'events.jsonl');
      assertExcluded(await criticalSection(file, holder, HOLD_MS, recordOne(file, 'flock', v.env)), v.provider!);
    });
  }
}

test('control: the lockfile backend is NOT excluded by a Python flock holder (the documented limit), so the check above can fail', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const r = await criticalSection(file, 'python', 10_000, recordOne(file, 'lockfile', {}), true);
  assert.equal(r.writer.code, 0, r.writer.stderr);
  assert.ok(placement(r).insideSection > 0, 'a lockfile writer lands inside the holder\'s critical section');
});
