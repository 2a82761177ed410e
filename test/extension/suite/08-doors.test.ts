import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ext, freePort, lines, measure, mine, post, serveHttp, setting, waitFor } from './helpers';
import { AI_CONTENT, FREE_FORM, SECRET, SEED_PAYLOADS } from '../../helpers/content';

// Issue #13: every door through which events enter (API, record command, HTTP), attacked from outside.
const FIXTURE = 'local-telemetry-sink.ai-fixture';
const RESERVED = ['session.start', 'session.end', 'sink.dropped', 'sink.resumed', 'editor.document.open', 'window.focus', 'terminal.open', 'task.start', 'debug.start', 'workspace.folders.change'];
const leaked = (ls: Array<{ data: unknown }>): string[] => ls.map((l) => JSON.stringify(l)).filter((t) => t.includes(`${SECRET}-`));

async function auth(): Promise<Record<string, string>> {
  const { hooks } = await ext();
  const t = hooks.httpToken?.();
  return t ? { authorization: `Bearer ${t}` } : {};
}

describe('doors: content, reserved types, who is calling', () => {
  let port = 0;
  before(async () => {
    port = await serveHttp();
    await vscode.extensions.getExtension(FIXTURE)!.activate();
  });
  after(async () => {
    await setting('http.enabled', undefined);
    await setting('http.port', undefined);
  });

  it('no content field reaches the file through the API, the record command or HTTP (captureContent off)', async () => {
    const { api } = await ext();
    const h = await auth();
    for (const data of FREE_FORM) {
      assert.ok(api.record('doors.api', data) >= 0);
      assert.ok(((await vscode.commands.executeCommand('telemetrySink.record', 'doors.command', data)) as number) >= 0);
    }
    api.recordAiEvent({ kind: 'accepted', 'gen_ai.request.model': 'm', ...AI_CONTENT });
    await vscode.commands.executeCommand('telemetrySink.record', 'ai.completion', { kind: 'rejected', ...AI_CONTENT });
    api.record('ai.completion.shown', { kind: 'shown', ...AI_CONTENT });
    for (const p of SEED_PAYLOADS) assert.equal((await post(port, '/telemetry/vscode/event', JSON.stringify(p), h)).status, 202);
    const batch = await post(port, '/v1/events', JSON.stringify(FREE_FORM.map((data) => ({ type: 'doors.http', data }))), h);
    assert.equal(batch.status, 202, batch.body);
    assert.equal((await post(port, '/v1/events', JSON.stringify({ type: 'ai.completion.accepted', data: { kind: 'accepted', ...AI_CONTENT } }), h)).status, 202);
    const ls = await mine();
    for (const t of ['doors.api', 'doors.command', 'doors.http']) assert.equal(ls.filter((l) => l.type === t).length, FREE_FORM.length, `${t}: every event written`);
    assert.deepEqual(leaked(ls), [], 'content reached the file');
  });

  it('reserved event types are refused through the API, the command and HTTP', async () => {
    const { api } = await ext();
    for (const t of RESERVED) assert.throws(() => api.record(t, { reason: 'forged' }), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_EVENT' && /reserved/.test(e.message), t);
    await assert.rejects(Promise.resolve(vscode.commands.executeCommand('telemetrySink.record', 'session.end', { reason: 'forged' })), /reserved/);
    const r = await post(port, '/v1/events', JSON.stringify({ type: 'sink.dropped', data: { from_seq: 0, to_seq: 999_999_999, count: 1_000_000_000 } }), await auth());
    assert.equal(r.status, 400, r.body);
    assert.equal(r.json.error?.code, 'invalid_event');
    const ls = await mine();
    assert.ok(!ls.some((l) => l.data.reason === 'forged' || l.data.to_seq === 999_999_999), 'a forged event was written');
  });

  it('the source is the calling extension’s real id, whatever it claims; its forged bookkeeping is refused', async () => {
    const out = (await vscode.commands.executeCommand('aiFixture.forge')) as Record<string, number | { code: string; message: string }>;
    const ls = await mine();
    for (const k of ['apiRecord', 'apiAi', 'command']) {
      const l = ls.find((x) => x.seq === out[k]);
      assert.ok(l, `${k}: ${JSON.stringify(out[k])}`);
      assert.equal(l.source, `api:${FIXTURE}`, `${k} claimed github.copilot`);
    }
    for (const k of ['apiDropped', 'apiSessionEnd', 'apiEditor', 'commandDropped']) assert.equal((out[k] as { code: string }).code, 'ERR_INVALID_EVENT', `${k}: ${JSON.stringify(out[k])}`);
  });

  it('API calls identify their caller from the stack at a cost that stays small', async () => {
    const { api } = await ext();
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) api.record('doors.cost', { i });
    const us = ((performance.now() - t0) * 1000) / n;
    measure('apiRecordUsPerCallUnknownCaller', +us.toFixed(2));
    assert.equal((await mine()).filter((l) => l.type === 'doors.cost')[0]!.source, 'api:unknown', 'the test runner is no installed extension');
    const fromExtension = (await vscode.commands.executeCommand('aiFixture.cost')) as number;
    measure('apiRecordUsPerCallFromExtension', +fromExtension.toFixed(2));
    const { hooks } = await ext();
    const ctx = hooks.runtime.captureContext();
    const t1 = performance.now();
    for (let i = 0; i < n; i++) ctx.record('doors.cost_baseline', { i });
    measure('collectorRecordUsPerCallSameRun', +(((performance.now() - t1) * 1000) / n).toFixed(2));
    assert.equal((await mine()).filter((l) => l.type === 'fixture.cost')[0]!.source, `api:${FIXTURE}`);
  });

  it('Pause and Resume run by another extension are recorded as that extension, not as the user', async () => {
    await vscode.commands.executeCommand('aiFixture.pauseAndResume');
    const ls = await mine();
    const paused = ls.filter((l) => l.type === 'sink.paused' || l.type === 'sink.resumed').slice(-2);
    assert.deepEqual(paused.map((l) => [l.type, l.data.by]), [['sink.paused', `api:${FIXTURE}`], ['sink.resumed', `api:${FIXTURE}`]]);
  });

  it('Repair run through executeCommand by another extension always asks first', async () => {
    const { hooks } = await ext();
    assert.ok(hooks.stubRepairConfirm, 'the test hook exists');
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const damaged = path.join(ws, '.doors-damaged', 'events.jsonl');
    fs.mkdirSync(path.dirname(damaged), { recursive: true });
    const bad = '{"v":1,"id":"torn\nnot json\n';
    fs.writeFileSync(damaged, bad);
    const asked = hooks.stubRepairConfirm(false);
    try {
      await setting('file', damaged);
      assert.equal(await vscode.commands.executeCommand('aiFixture.repairWithoutAsking'), undefined);
      assert.equal(asked(), 1, 'the confirmation was skipped for another extension');
      assert.ok(fs.readFileSync(damaged, 'utf8').startsWith(bad), 'repaired without asking');
    } finally {
      hooks.stubRepairConfirm?.(undefined);
      await setting('file', undefined);
    }
  });
});

describe('doors: HTTP hardening in the host', () => {
  let port = 0;
  before(async () => {
    port = await serveHttp();
  });
  after(async () => {
    await setting('http.enabled', undefined);
    await setting('http.port', undefined);
    await setting('file', undefined);
  });

  it('a random token is generated on first enable, kept out of settings, and required', async () => {
    const { hooks } = await ext();
    const token = hooks.httpToken?.();
    assert.ok(token && token.length >= 32, 'no token was generated');
    assert.equal(vscode.workspace.getConfiguration('telemetrySink').get('http.token'), '');
    assert.equal((await post(port, '/v1/events', '{"type":"doors.open"}')).status, 401);
    assert.equal((await post(port, '/v1/events', '{"type":"doors.open"}', { authorization: `bearer ${token}` })).status, 202);
  });

  it('a /v1/events batch is all or nothing', async () => {
    const deep = '{"a":' + '['.repeat(30_000) + ']'.repeat(30_000) + '}';
    const r = await post(port, '/v1/events', `[{"type":"doors.batch_first","data":{}},{"type":"doors.batch_second","data":${deep}}]`, await auth());
    assert.equal(r.status, 400, r.body);
    assert.ok(!(await mine()).some((l) => l.type === 'doors.batch_first'), 'the first event of a refused batch was written');
  });

  it('error bodies carry codes, never paths or OS errors', async () => {
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const blocker = path.join(ws, 'doors-not-a-folder');
    fs.writeFileSync(blocker, 'x');
    await setting('file', path.join(blocker, 'sub', 'events.jsonl'));
    try {
      const { hooks } = await ext();
      assert.match(hooks.runtime.openError ?? '', /ENOTDIR/);
      for (const h of [await auth(), {}]) {
        const r = await post(port, '/v1/events', '{"type":"doors.unopened"}', h);
        assert.ok(r.status >= 400, r.body);
        assert.ok(!r.body.includes(ws) && !/ENOTDIR|\/tmp|\/home/.test(r.body), `status ${r.status}: ${r.body}`);
      }
    } finally {
      await setting('file', undefined);
    }
  });

  it('a port held by another process is logged and shown in the status bar, and gets no token', async () => {
    const { hooks } = await ext();
    const squatPort = await freePort();
    const seen: string[] = [];
    const squatter = net.createServer((s) => {
      s.on('data', (d) => seen.push(d.toString('latin1')));
      s.on('error', () => undefined);
      setTimeout(() => s.end('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}'), 20);
    });
    await new Promise<void>((r) => squatter.listen(squatPort, '127.0.0.1', r));
    try {
      await setting('http.port', squatPort);
      await waitFor('ingest blocked', () => (hooks.ingest()?.state as string) === 'blocked');
      hooks.status.update();
      assert.equal(hooks.status.state, 'problem');
      assert.match(String((hooks.status as unknown as { problems?: string[] }).problems), new RegExp(`port ${squatPort} is held by another process`));
      const token = hooks.httpToken?.();
      assert.ok(token && !seen.join('').includes(token), 'the token went to the squatter');
    } finally {
      await new Promise((r) => squatter.close(r));
      await setting('http.port', port);
    }
    await waitFor('serving again', () => hooks.ingest()?.state === 'serving');
  });
});

describe('doors: paths', () => {
  it('hashed paths are sha256 of a per-installation salt + the workspace-relative path', async () => {
    await setting('pathMode', 'hashed');
    try {
      const { hooks } = await ext();
      const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
      const file = path.join(ws, 'salted.ts');
      fs.writeFileSync(file, 'export {};\n');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
      const saltFile = path.join(path.dirname(hooks.runtime.file), 'path-hash.salt');
      const ls = await waitFor('hashed open', async () => {
        const m = await lines();
        return m.some((l) => l.type === 'editor.document.open' && String(l.data.path).startsWith('sha256:')) && fs.existsSync(saltFile) ? m : undefined;
      });
      const got = ls.filter((l) => l.type === 'editor.document.open' && String(l.data.path).startsWith('sha256:')).map((l) => l.data.path);
      const unsalted = 'sha256:' + crypto.createHash('sha256').update(file).digest('hex').slice(0, 16);
      assert.ok(!got.includes(unsalted), 'the hash is the unsalted SHA-256 of the absolute path (a dictionary reverses it)');
      assert.equal((fs.statSync(saltFile).mode & 0o777).toString(8), '600');
      const salt = Buffer.from(fs.readFileSync(saltFile, 'utf8').trim(), 'hex');
      assert.equal(salt.length, 32);
      const want = 'sha256:' + crypto.createHash('sha256').update(salt).update('salted.ts').digest('hex').slice(0, 16);
      assert.ok(got.includes(want), `${want} not in ${got.join(', ')}`);
    } finally {
      await setting('pathMode', undefined);
    }
  });
});
