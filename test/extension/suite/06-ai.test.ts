import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mine, sleep, waitFor } from './helpers';

describe('AI completions from a real inline completion provider', () => {
  it('the fixture reports shown/accepted through the API; the heuristic sees the accepted insert', async function () {
    const fixture = vscode.extensions.getExtension('local-telemetry-sink.ai-fixture');
    if (!fixture) return this.skip();
    await fixture.activate();
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const file = path.join(ws, 'ai-target.ts');
    fs.writeFileSync(file, 'function f(items: number[]) {\n  \n}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    const ed = await vscode.window.showTextDocument(doc);
    ed.selection = new vscode.Selection(1, 2, 1, 2);
    await ed.edit((b) => b.insert(new vscode.Position(1, 2), ''));
    let accepted = false;
    for (let i = 0; i < 20 && !accepted; i++) {
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      await sleep(400);
      await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
      await sleep(300);
      accepted = doc.getText().includes('filter((x)');
    }
    assert.ok(accepted, 'the inline completion was accepted in the editor');
    const ls = await waitFor('reported + heuristic events', async () => {
      const m = await mine();
      return m.some((l) => l.type === 'ai.completion.accepted' && l.data.detection === 'heuristic') && m.some((l) => l.type === 'ai.completion.accepted' && l.data.detection === 'reported') ? m : undefined;
    });
    assert.ok(ls.some((l) => l.type === 'ai.completion.shown' && l.source === 'api:local-telemetry-sink.ai-fixture'));
    const h = ls.find((l) => l.type === 'ai.completion.accepted' && l.data.detection === 'heuristic')!;
    assert.ok((h.data.confidence as number) >= 0.6);
    assert.equal(h.data.text, undefined);
  });
});
