import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ext, EXT_ID, measure, type Line } from './helpers';
import { BASELINE_ID, waitForCodeLoadMs } from '../../helpers/activationMarks';
import { createApi } from '../../../src/ingest/api';
import { CallerIdentity } from '../../../src/ingest/caller';
import type { Runtime } from '../../../src/runtime';

describe('startup cost', () => {
  it('module load (VS Code\'s marks) + activate() beside the empty extension in the same host', async function () {
    if (!vscode.extensions.getExtension(BASELINE_ID)) this.skip(); // the desktop runner installs no baseline
    const { hooks } = await ext();
    const [load, baseLoad] = await waitForCodeLoadMs([EXT_ID, BASELINE_ID], 30_000);
    assert.ok(load !== undefined && baseLoad !== undefined, `VS Code's load marks for both extensions (got ${load}, ${baseLoad})`);
    const total = load + hooks.activationMs;
    measure('moduleLoadMs', load);
    measure('baselineModuleLoadMs', baseLoad);
    measure('loadPlusActivateMs', +total.toFixed(1));
    // Only a generous bound here (a busy shared machine); npm run bench:startup has the figures.
    assert.ok(total < 1500, `module load + activate() took ${total.toFixed(1)} ms`);
  });

  it('activate() loads none of the lazily loaded bundles, and leaves opening the sink to the next turn', async () => {
    const { hooks } = await ext();
    assert.deepEqual(hooks.bundlesAtActivation, []);
    // ...and the first use loads them: the sink is open by now (session.start is checked elsewhere).
    assert.ok(hooks.loadedBundles!().includes('sink'));
  });
});

/** A second Runtime of the installed extension (its own code from dist/), writing to a file of its own. */
async function freshRuntime(): Promise<{ rt: Runtime; file: string; done: () => Promise<Line[]> }> {
  const { hooks } = await ext();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-early-'));
  const file = path.join(dir, 'events.jsonl');
  const log = vscode.window.createOutputChannel('Telemetry Sink (startup test)', { log: true });
  const RuntimeClass = hooks.runtime.constructor as new (log: vscode.LogOutputChannel, version: string) => Runtime;
  const rt = new RuntimeClass(log, 'test');
  rt.settings = { ...rt.settings, file };
  rt.updatePause();
  assert.equal(rt.paused, false);
  const done = async (): Promise<Line[]> => {
    await rt.close();
    rt.dispose();
    log.dispose();
    const text = fs.readFileSync(file, 'utf8');
    fs.rmSync(dir, { recursive: true, force: true });
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  };
  return { rt, file, done };
}

/** One session, seq 0..n-1, session.start first and session.end last; returns the types in between. */
function oneSession(lines: Array<Line & { ts: string }>): Line[] {
  assert.equal(new Set(lines.map((l) => l.sid)).size, 1, 'one session');
  assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i));
  assert.equal(lines[0]!.type, 'session.start');
  assert.equal(lines[lines.length - 1]!.type, 'session.end');
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.ts >= lines[i - 1]!.ts, `ts in order at seq ${i}`);
  return lines.slice(1, -1);
}

describe('opening the sink off the activation path', () => {
  it('API events in the same tick as open() force it: session.start, then what collectors held, then the API event, in order', async () => {
    const { rt, done } = await freshRuntime();
    const api = createApi(rt, new CallerIdentity(EXT_ID));
    const ctx = rt.captureContext();
    rt.open('activate'); // what activate() does before it returns
    assert.equal(rt.stats(), undefined, 'open() made no sink yet');
    ctx.record('test.early', { i: 0 });
    ctx.record('test.early', { i: 1 });
    const seq = api.record('test.api', { i: 2 });
    assert.equal(seq, 3, 'the API event follows session.start and the two held events');
    ctx.record('test.early', { i: 3 });
    const body = oneSession((await done()) as Array<Line & { ts: string }>);
    assert.deepEqual(body.map((l) => `${l.type}:${l.data.i}`), ['test.early:0', 'test.early:1', 'test.api:2', 'test.early:3']);
  });

  it('events recorded before the next turn are held and written after session.start when the sink opens by itself', async () => {
    const { rt, done } = await freshRuntime();
    const ctx = rt.captureContext();
    rt.open('activate');
    for (let i = 0; i < 3; i++) ctx.record('test.early', { i });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.ok(rt.stats(), 'the sink opened on the next turn without being asked');
    ctx.record('test.early', { i: 3 });
    const body = oneSession((await done()) as Array<Line & { ts: string }>);
    assert.deepEqual(body.map((l) => l.data.i), [0, 1, 2, 3]);
  });

  it('past the hold limit the sink is made at once; nothing is lost and the order holds', async () => {
    const { rt, done } = await freshRuntime();
    const ctx = rt.captureContext();
    rt.open('activate');
    const n = 2500; // more than Runtime's EARLY_MAX (1000)
    for (let i = 0; i < n; i++) ctx.record('test.early', { i });
    const body = oneSession((await done()) as Array<Line & { ts: string }>);
    assert.deepEqual(body.map((l) => l.data.i), Array.from({ length: n }, (_, i) => i));
  });
});
