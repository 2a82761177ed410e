import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mine, waitFor } from './helpers';

describe('more collectors with real actions', () => {
  it('terminals opened and closed (no names, no output)', async () => {
    const before = (await mine()).filter((l) => l.type === 'terminal.close').length;
    const t = vscode.window.createTerminal({ name: 'SECRET_TERMINAL_NAME' });
    await waitFor('terminal.open', async () => (await mine()).some((l) => l.type === 'terminal.open'));
    t.dispose();
    const ls = await waitFor('terminal.close', async () => {
      const m = await mine();
      return m.filter((l) => l.type === 'terminal.close').length > before ? m : undefined;
    });
    assert.ok(!JSON.stringify(ls).includes('SECRET_TERMINAL_NAME'));
  });

  it('tasks started and ended with their exit code', async () => {
    const task = new vscode.Task({ type: 'shell', id: 'lts-exit-3' }, vscode.TaskScope.Workspace, 'lts exit 3', 'lts-test', new vscode.ShellExecution('exit 3'));
    await vscode.tasks.executeTask(task);
    const ls = await waitFor('task.end', async () => {
      const m = await mine();
      return m.some((l) => l.type === 'task.end' && l.data.name === 'lts exit 3') ? m : undefined;
    }, 20_000);
    assert.ok(ls.some((l) => l.type === 'task.start' && l.data.name === 'lts exit 3' && l.data.source === 'lts-test'));
    assert.equal(ls.find((l) => l.type === 'task.end' && l.data.name === 'lts exit 3')!.data.exit_code, 3);
  });

  it('selection changes arrive as debounced counts only', async () => {
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const file = path.join(ws, 'select.ts');
    fs.writeFileSync(file, 'a\nb\nc\nd\n');
    const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
    const already = (await mine()).filter((l) => l.type === 'editor.selection.change').length;
    for (let i = 0; i < 4; i++) ed.selection = new vscode.Selection(i, 0, i, 1);
    // Counts are flushed by the test helper (and every 5 s); wait until these four are counted.
    const sel = await waitFor('four more selection changes counted', async () => {
      const s = (await mine()).filter((l) => l.type === 'editor.selection.change').slice(already);
      return s.reduce((a, l) => a + (l.data.count as number), 0) >= 4 ? s : undefined;
    }, 10_000);
    for (const l of sel) assert.deepEqual(Object.keys(l.data).sort(), ['command', 'count', 'keyboard', 'mouse', 'window_ms']);
  });

  it('switching a category off stops it without a reload', async () => {
    await vscode.workspace.getConfiguration('telemetrySink').update('capture.documents', false, vscode.ConfigurationTarget.Global);
    try {
      const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
      const file = path.join(ws, 'not-captured.ts');
      fs.writeFileSync(file, 'export {};\n');
      await vscode.workspace.openTextDocument(file);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!(await mine()).some((l) => l.type === 'editor.document.open' && l.data.path === 'not-captured.ts'));
    } finally {
      await vscode.workspace.getConfiguration('telemetrySink').update('capture.documents', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
