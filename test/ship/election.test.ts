/**
 * The extension's election, between real processes: exactly one of two "windows" is elected; when it
 * closes (SIGTERM) or dies (SIGKILL) the other takes over; `telemetry-sink ship` shares the lock, so
 * it refuses while a window ships. With flock and with the lock-file fallback.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { run, ROOT } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { shipCli } from '../helpers/shipfix';
import { shipPaths } from '../../src/core/ship/cursor';

const ELECTOR = path.join(ROOT, 'out', 'test', 'fixtures', 'elector.js');

interface Window {
  child: ChildProcess;
  roles: string[];
  backend?: string;
  wait(role: string, ms?: number): Promise<void>;
}

function window(lock: string, env: NodeJS.ProcessEnv): Window {
  const r = run(process.execPath, [ELECTOR, lock], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Window = {
    child: r.child,
    roles: [],
    wait: async (role, ms = 10_000) => {
      const t0 = Date.now();
      while (!w.roles.includes(role)) {
        if (Date.now() - t0 > ms) throw new Error(`no ${role} within ${ms} ms (roles ${w.roles.join(',')})`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
  };
  let buf = '';
  r.child.stdout!.on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const o = JSON.parse(buf.slice(0, nl)) as { role: string; backend?: string };
      buf = buf.slice(nl + 1);
      w.roles.push(o.role);
      w.backend ??= o.backend;
    }
  });
  return w;
}

const first = (w: Window): string | undefined => w.roles.find((r) => r === 'leader' || r === 'standby');

for (const [name, env] of [['flock', {}], ['lock-file fallback', { TELEMETRY_SINK_DISABLE_FLOCK: '1' }]] as const) {
  test(`election (${name}): one of two windows ships; it closes, the other takes over; it dies, the next takes over`, { timeout: 60_000 }, async () => {
    const file = path.join(tmpDir('lts-elect-'), 'events.jsonl');
    const { lock } = shipPaths(file, 'http://127.0.0.1:9/telemetry.events');
    const a = window(lock, env);
    await a.wait('leader');
    const b = window(lock, env);
    await b.wait('standby');
    assert.equal(a.backend, name === 'flock' ? 'flock' : 'lockfile');
    assert.deepEqual([first(a), first(b)], ['leader', 'standby'], 'exactly one leader');
    await new Promise((r) => setTimeout(r, 600)); // several standby retries: still one leader
    assert.ok(!b.roles.includes('leader'));

    // The CLI shares the election, even when it can flock and the windows cannot (and vice versa).
    const busy = await shipCli(['--url', 'http://127.0.0.1:9', '--file', file, '--retry-for', '1']).done;
    assert.equal(busy.code, 3, `the CLI shares the election: ${busy.stderr}`);
    const busy2 = await shipCli(['--url', 'http://127.0.0.1:9', '--file', file, '--retry-for', '1'], { TELEMETRY_SINK_DISABLE_FLOCK: '1' }).done;
    assert.equal(busy2.code, 3, `the CLI without flock is excluded too: ${busy2.stderr}`);

    a.child.kill('SIGTERM'); // the window closes
    await b.wait('leader');
    const c = window(lock, env);
    await c.wait('standby');
    b.child.kill('SIGKILL'); // the window's host crashes: the kernel (or the dead pid) frees the lock
    await c.wait('leader', 15_000);
    c.child.kill('SIGTERM');
    await new Promise((r) => c.child.once('close', r));
  });
}
