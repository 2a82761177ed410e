import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Line, mine, setting, waitFor } from './helpers';

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

  it('tasks started and ended with their exit code; labels only with telemetrySink.taskLabels', async () => {
    const runTask = async (label: string): Promise<Line[]> => {
      const task = new vscode.Task({ type: 'shell', id: label }, vscode.TaskScope.Workspace, label, 'lts-test', new vscode.ShellExecution('exit 3'));
      const before = (await mine()).filter((l) => l.type === 'task.end').length;
      await vscode.tasks.executeTask(task);
      const ls = await waitFor('task.end', async () => {
        const m = await mine();
        return m.filter((l) => l.type === 'task.end').length > before ? m : undefined;
      }, 20_000);
      return ls.filter((l) => l.type.startsWith('task.')).slice(-2);
    };
    const [start, end] = await runTask('lts SECRET_TASK_LABEL');
    assert.deepEqual([start!.type, end!.type], ['task.start', 'task.end']);
    assert.equal(start!.data.source, 'lts-test');
    assert.equal(start!.data.kind, 'shell');
    assert.equal(end!.data.exit_code, 3);
    assert.ok(!JSON.stringify([start, end]).includes('SECRET_TASK_LABEL'), 'the task label is written by default');
    await setting('taskLabels', true);
    try {
      const [s2] = await runTask('lts exit 3');
      assert.equal(s2!.data.name, 'lts exit 3');
    } finally {
      await setting('taskLabels', undefined);
    }
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
