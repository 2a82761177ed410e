import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ext, setting } from './helpers';

const HOSTILE = '<img src=x onerror=alert(1)>';

function line(i: number, t: number, type: string, data: Record<string, unknown>): string {
  return JSON.stringify({ v: 1, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ts: new Date(t).toISOString(), sid: 'feedface-0000-4000-8000-000000000001', seq: i, type, source: 'cli', data }) + '\n';
}

describe('Show Statistics: ranges, tables, CSV, status bar', () => {
  let file: string;
  before(async () => {
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    file = path.join(ws, '.stats', 'events.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const now = Date.now();
    let s = '';
    for (let i = 0; i < 60; i++) {
      const t = now - i * 3 * 3_600_000;
      const model = i % 3 ? 'qwen2.5-coder:7b' : HOSTILE;
      s += line(2 * i, t, i % 4 ? 'ai.completion.shown' : 'ai.completion.accepted', { kind: i % 4 ? 'shown' : 'accepted', detection: 'reported', 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': model, is_local: true, latency_ms: 120 + i, language_id: 'python', chars: 30, lines: 2 });
      s += line(2 * i + 1, t, 'editor.document.change', { language_id: 'python', changes: 3, chars_inserted: 20, chars_deleted: 1, duration_ms: 45_000 });
    }
    fs.writeFileSync(file, s, { mode: 0o600 });
    await setting('file', file);
    const { hooks } = await ext();
    assert.equal(hooks.runtime.file, file);
  });
  after(async () => {
    await setting('file', undefined);
  });

  for (const [range, label] of [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['all', 'All time']] as const) {
    it(`opens with range ${range}`, async () => {
      const html = (await vscode.commands.executeCommand('telemetrySink.showStatistics', range)) as string;
      assert.match(html, new RegExp(`aria-current="page" class="current">${label}<`));
      assert.match(html, /AI completions by model/);
      assert.match(html, /Editor activity by day/);
      assert.match(html, /qwen2\.5-coder:7b/);
      assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;'), 'the hostile model name is escaped');
      assert.doesNotMatch(html, /<script|<img/i);
    });
  }

  it('Copy as CSV puts the table on the clipboard; bad arguments do nothing', async () => {
    await vscode.commands.executeCommand('telemetrySink.showStatistics', '7d');
    const csv = (await vscode.commands.executeCommand('telemetrySink.statsCsv', 'copy', 'ai-by-model', '7d')) as string;
    assert.match(csv, /^provider,model,locality,shown,accepted,/);
    assert.match(csv, /\r\nollama,qwen2\.5-coder:7b,local,\d+,\d+,/);
    assert.equal(await vscode.env.clipboard.readText(), csv);
    assert.equal(await vscode.commands.executeCommand('telemetrySink.statsCsv', 'copy', 'no-such-table', '7d'), undefined);
    assert.equal(await vscode.commands.executeCommand('telemetrySink.statsCsv', 'rm -rf', 'ai-by-model', '7d'), undefined);
  });

  it("the status bar tooltip shows today's accepted completions and acceptance rate", async () => {
    const { hooks } = await ext();
    await vscode.commands.executeCommand('telemetrySink.showStatistics', '24h');
    hooks.status.update();
    const tooltip = (hooks.status as unknown as { item: vscode.StatusBarItem }).item.tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /AI completions today: \d+ accepted · acceptance rate \d+\.\d%/);
  });
});
