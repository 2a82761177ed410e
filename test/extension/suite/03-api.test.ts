import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { ext, mine, setting } from './helpers';

describe('public API and record command', () => {
  it('recordAiEvent writes ai.completion.<kind> with GenAI names and detection "reported"', async () => {
    const { api } = await ext();
    const seq = api.recordAiEvent({ kind: 'accepted', 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen2.5-coder:7b', 'gen_ai.usage.output_tokens': 12, latency_ms: 180, chars: 42, lines: 2, language_id: 'python', is_local: true, success: true, correlation_id: 'x1', text: 'SECRET COMPLETION' }, 'my.ext');
    assert.ok(seq >= 0);
    const l = (await mine()).find((x) => x.seq === seq)!;
    assert.equal(l.type, 'ai.completion.accepted');
    assert.equal(l.source, 'api:unknown', 'the claimed id is ignored; the test runner is no installed extension');
    assert.equal(l.data['gen_ai.request.model'], 'qwen2.5-coder:7b');
    assert.equal(l.data.detection, 'reported');
    assert.equal(l.data.text, undefined, 'completion text is not written unless captureContent is on');
  });

  it('bad input throws an error naming the field', async () => {
    const { api } = await ext();
    assert.throws(() => api.recordAiEvent({ kind: 'maybe' }), /field "kind"/);
    assert.throws(() => api.recordAiEvent({ kind: 'shown', latency_ms: -1 }), /field "latency_ms"/);
    assert.throws(() => api.record('Not Valid', {}), /field "type"/);
  });

  it('the telemetrySink.record command works without a hard dependency', async () => {
    const seq = (await vscode.commands.executeCommand('telemetrySink.record', 'my.custom.event', { n: 1 }, 'other.ext')) as number;
    assert.ok(seq >= 0);
    const seq2 = (await vscode.commands.executeCommand('telemetrySink.record', 'ai.completion', { kind: 'rejected' })) as number;
    const ls = await mine();
    assert.equal(ls.find((l) => l.seq === seq)!.type, 'my.custom.event');
    assert.equal(ls.find((l) => l.seq === seq2)!.type, 'ai.completion.rejected');
    await assert.rejects(Promise.resolve(vscode.commands.executeCommand('telemetrySink.record', 'x.y', [1])), /field "data"/);
  });

  it('pause and resume: nothing is captured while paused; the status bar says so', async () => {
    const { api, hooks } = await ext();
    await vscode.commands.executeCommand('telemetrySink.pause');
    assert.equal(hooks.status.state, 'paused');
    assert.equal(api.record('while.paused', {}), -1);
    await vscode.commands.executeCommand('telemetrySink.resume');
    assert.equal(hooks.status.state, 'capturing');
    assert.ok(api.record('after.resume', {}) >= 0);
    const ls = await mine();
    assert.ok(!ls.some((l) => l.type === 'while.paused'));
    assert.ok(ls.some((l) => l.type === 'sink.paused') && ls.some((l) => l.type === 'sink.resumed'));
  });

  it('captureContent on: API text is kept', async () => {
    await setting('captureContent', true);
    try {
      const { api } = await ext();
      const seq = api.recordAiEvent({ kind: 'shown', text: 'visible now' });
      assert.equal((await mine()).find((l) => l.seq === seq)!.data.text, 'visible now');
    } finally {
      await setting('captureContent', undefined);
    }
  });
});

describe('enabled: false', () => {
  it('writes nothing at all, not even session events, and a new session starts when re-enabled', async () => {
    const { api, hooks } = await ext();
    const oldSid = hooks.runtime.sink!.sid;
    await setting('enabled', false);
    try {
      assert.equal(hooks.runtime.sink, undefined);
      assert.equal(hooks.status.state, 'paused');
      assert.equal(api.record('while.disabled', {}), -1);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await setting('enabled', undefined);
    }
    const sid = hooks.runtime.sink!.sid;
    assert.notEqual(sid, oldSid);
    const all = await (await import('./helpers')).lines();
    assert.ok(!all.some((l) => l.type === 'while.disabled'));
    assert.ok(all.some((l) => l.sid === oldSid && l.type === 'session.end'), 'the old session ended');
    assert.ok(all.some((l) => l.sid === sid && l.type === 'session.start'), 'a new one started');
  });
});
