import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { ext, mine, setting, waitFor } from './helpers';

const ws = (): string => vscode.workspace.workspaceFolders![0]!.uri.fsPath;

describe('editor collectors', () => {
  it('document open, coalesced edit burst, save — with a relative path and no text', async () => {
    const file = path.join(ws(), 'src', 'edit-me.ts');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'export const a = 1;\n');
    const doc = await vscode.workspace.openTextDocument(file);
    const ed = await vscode.window.showTextDocument(doc);
    // Twenty edits in a row are one burst however slowly a loaded host applies them: the quiet
    // window that would end it is held open, and the save ends it (the 1 s rule itself is unit-tested).
    const { hooks } = await ext();
    hooks.setEditQuietMs(10 * 60_000);
    try {
      for (let i = 0; i < 20; i++) {
        await ed.edit((b) => b.insert(new vscode.Position(1, 0), `const secret${i} = "TOPSECRET";\n`));
      }
      await doc.save();
    } finally {
      hooks.setEditQuietMs(undefined);
    }
    const ls = await waitFor('save event', async () => {
      const m = await mine();
      return m.some((l) => l.type === 'editor.document.save' && l.data.path === 'src/edit-me.ts') ? m : undefined;
    });
    assert.ok(ls.some((l) => l.type === 'editor.document.open' && l.data.path === 'src/edit-me.ts' && l.data.language_id === 'typescript'));
    const bursts = ls.filter((l) => l.type === 'editor.document.change' && l.data.path === 'src/edit-me.ts');
    // One burst as a rule; a rare split into two was seen on loaded runs (a settings change from an
    // earlier test landing mid-edit ends open bursts by design, the likely cause). What must hold:
    // the edits are coalesced and every one is counted.
    assert.ok(bursts.length >= 1 && bursts.length <= 2, `twenty quick edits are one burst (got ${bursts.length})`);
    const sum = (k: string): number => bursts.reduce((n, b) => n + Number(b.data[k]), 0);
    assert.equal(sum('changes'), 20);
    assert.equal(sum('lines_added'), 20);
    assert.ok(!JSON.stringify(ls).includes('TOPSECRET'), 'no document text in the file');
    assert.ok(ls.some((l) => l.type === 'editor.active.change'));
  });

  it('excluded files and other schemes are not captured', async () => {
    const file = path.join(ws(), 'node_modules', 'x', 'index.js');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'module.exports = 1;\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const untitled = await vscode.workspace.openTextDocument({ language: 'markdown', content: 'hello' });
    await vscode.window.showTextDocument(untitled);
    const ls = await mine();
    assert.ok(!ls.some((l) => String(l.data.path ?? '').includes('node_modules')));
    assert.ok(ls.some((l) => l.type === 'editor.document.open' && l.data.path === 'untitled'));
  });

  it('pathMode changes apply without a reload (hashed)', async () => {
    await setting('pathMode', 'hashed');
    try {
      const file = path.join(ws(), 'hashed.ts');
      fs.writeFileSync(file, 'export {};\n');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
      const ls = await waitFor('hashed open', async () => {
        const m = await mine();
        return m.some((l) => l.type === 'editor.document.open' && String(l.data.path).startsWith('sha256:')) ? m : undefined;
      });
      assert.ok(!ls.some((l) => l.data.path === 'hashed.ts'));
    } finally {
      await setting('pathMode', undefined);
    }
  });
});
