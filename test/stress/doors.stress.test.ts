import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../helpers/analyze';
import { CLI, run, sleep } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';
import { freePort } from '../helpers/ports';
import { AI_CONTENT, FREE_FORM, SECRET, SEED_PAYLOADS } from '../helpers/content';
import { IngestServer } from '../../src/core/ingest/http';

// The CLI door (`telemetry-sink record` stdin) and what the CLI prints (issue #13 items 2, 4, 5, 7),
// plus the HTTP port held by another user (item 6).

test('CLI record: no content field reaches the file (captureContent is off unless --capture-content)', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const lines = [
    ...FREE_FORM.map((data) => JSON.stringify({ type: 'doors.free', data })),
    JSON.stringify({ type: 'ai.completion.accepted', data: { kind: 'accepted', 'gen_ai.request.model': 'm', ...AI_CONTENT } }),
    ...SEED_PAYLOADS.map((p) => JSON.stringify(p)),
  ];
  const r = await run(process.execPath, [CLI, 'record', '--file', file], { input: lines.join('\n') + '\n' }).done;
  assert.equal(r.code, 0, r.stderr);
  const text = fs.readFileSync(file, 'utf8');
  assert.equal(analyze([file]).valid.filter((v) => v.type === 'doors.free').length, FREE_FORM.length, 'every free-form event is written (without its content)');
  const leaked = text.split('\n').filter((l) => l.includes(SECRET));
  assert.deepEqual(leaked, [], 'content reached the file');
  const on = await run(process.execPath, [CLI, 'record', '--file', file, '--capture-content'], { input: JSON.stringify({ type: 'doors.on', data: { prompt: SECRET } }) + '\n' }).done;
  assert.equal(on.code, 0, on.stderr);
  assert.equal(analyze([file]).valid.find((v) => v.type === 'doors.on')?.data.prompt, SECRET, '--capture-content keeps it');
});

test('CLI record: reserved event types are refused from stdin', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const reserved = ['session.start', 'session.end', 'sink.dropped', 'sink.paused', 'editor.document.open', 'window.focus', 'terminal.open', 'task.start', 'debug.start', 'workspace.folders.change'];
  const input = reserved.map((type) => JSON.stringify({ type, data: type === 'sink.dropped' ? { from_seq: 0, to_seq: 999_999_999, count: 1_000_000_000 } : {} })).join('\n') + '\n' + JSON.stringify({ type: 'fine.event' }) + '\n';
  const r = await run(process.execPath, [CLI, 'record', '--file', file], { input }).done;
  assert.equal(r.code, 65, r.stderr);
  for (let i = 1; i <= reserved.length; i++) assert.match(r.stderr, new RegExp(`line ${i}: .*reserved`));
  const types = analyze([file]).valid.map((v) => v.type);
  assert.deepEqual(types, ['session.start', 'fine.event', 'session.end'], 'only the CLI’s own session events and the fine one');
});

test('CLI stats and verify: control characters from the file are escaped in text output; --json stays exact', { timeout: 30_000 }, async () => {
  const file = path.join(tmpDir(), 'events.jsonl');
  const model = 'm\u009b31m';
  const source = 'api:x\u001b[2J';
  const lines = [
    JSON.stringify({ v: 1, id: '00000000-0000-4000-8000-000000000001', ts: '2026-11-28T00:00:00.000Z', sid: 's1', seq: 0, type: 'ai.completion.accepted', source, data: { kind: 'accepted', 'gen_ai.request.model': model } }),
    JSON.stringify({ v: 1, id: '00000000-0000-4000-8000-000000000002', ts: '2026-11-28T00:00:00.000Z', sid: 's1', seq: 1, type: 'evil\u001b]52;c;SGk=\u0007.x', source: 'vscode', data: {} }),
    'not json \u001b[1A\u001b[2K\u007f\u0085 raw',
  ];
  fs.writeFileSync(file, lines.join('\n') + '\n');
  // C0 except \n and \t, DEL, C1.
  const control = (t: string): string | undefined => [...t].find((c) => {
    const n = c.codePointAt(0)!;
    return (n < 0x20 && n !== 0x0a && n !== 0x09) || (n >= 0x7f && n <= 0x9f);
  });
  for (const args of [['verify'], ['stats'], ['verify', '--all'], ['stats', '--all']]) {
    const r = await run(process.execPath, [CLI, ...args, '--file', file]).done;
    assert.equal(control(r.stdout), undefined, `${args.join(' ')} printed a raw control character`);
    assert.equal(control(r.stderr), undefined);
    assert.ok(r.stdout.includes(args[0] === 'stats' ? 'evil\\x1b]52;c;SGk=\\x07.x' : '\\x7f\\x85'), `${args.join(' ')} shows the escape instead: ${r.stdout}`);
  }
  const j = await run(process.execPath, [CLI, 'stats', '--file', file, '--json']).done;
  const s = JSON.parse(j.stdout) as { bySource: Array<{ source: string; events: number }> };
  assert.equal(s.bySource.find((r) => r.source === source)?.events, 1, '--json keeps the exact string');
  const v = await run(process.execPath, [CLI, 'verify', '--file', file, '--json']).done;
  assert.ok((JSON.parse(v.stdout) as { problems: Array<{ excerpt?: string }> }).problems.some((p) => p.excerpt?.includes('\u007f\u0085')), '--json keeps the exact excerpt');
  // JSON.stringify escapes C0 but leaves DEL and C1 raw (U+009B is CSI, U+009D OSC to a terminal
  // that reads UTF-8 C1): --json escapes them as \u00XX, which parses back to the same string.
  assert.equal(control(j.stdout), undefined, 'stats --json printed a raw DEL or C1 character');
  assert.equal(control(v.stdout), undefined, 'verify --json printed a raw DEL or C1 character');
});

test('CLI record: session events carry no absolute path', { timeout: 30_000 }, async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'events.jsonl');
  const r = await run(process.execPath, [CLI, 'record', '--file', file, '--lock', 'lockfile'], { input: '{"type":"a.b"}\n' }).done;
  assert.equal(r.code, 0, r.stderr);
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(!text.includes(dir), `the events folder's path is in the file:\n${text}`);
  const end = analyze([file]).valid.find((v) => v.type === 'session.end')!;
  assert.equal((end.data.stats as { file: string }).file, 'events.jsonl');
});

const isRoot = process.getuid?.() === 0;

test('HTTP: a port held by another user is reported with that user, and gets no token', { timeout: 30_000, skip: !isRoot && 'needs root to run a listener as another user' }, async () => {
  const port = await freePort();
  const seenFile = path.join(tmpDir(), 'seen.txt');
  fs.chmodSync(path.dirname(seenFile), 0o777);
  const code = `const net=require('net'),fs=require('fs');net.createServer((s)=>{s.on('data',(d)=>fs.appendFileSync(${JSON.stringify(seenFile)},d));s.on('error',()=>{});setTimeout(()=>s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}'),20)}).listen(${port},'127.0.0.1',()=>console.log('up'))`;
  const squatter = run(process.execPath, ['-e', code], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    for (let i = 0; i < 100 && !(await Promise.race([squatter.done.then(() => 'exited'), sleep(50).then(() => '')])); i++) {
      if (fs.existsSync('/proc/net/tcp') && fs.readFileSync('/proc/net/tcp', 'utf8').includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`)) break;
    }
    const logs: string[] = [];
    const token = 'stress-token-0123456789abcdef0123';
    const srv = new IngestServer({ port, token, recordBatch: () => [], retryMs: 60_000, log: (_l, m) => logs.push(m) });
    const state = (): string => srv.state;
    try {
      await srv.start();
      for (let i = 0; i < 60 && state() !== 'blocked'; i++) await sleep(50);
      assert.equal(state(), 'blocked', logs.join(' | '));
      assert.match(logs.join('\n'), /held by another process.*uid 65534/);
      const seen = fs.existsSync(seenFile) ? fs.readFileSync(seenFile, 'utf8') : '';
      assert.ok(!seen.includes(token), 'the token was sent to another user');
    } finally {
      await srv.stop();
    }
  } finally {
    squatter.child.kill('SIGKILL');
    await squatter.done;
  }
});
