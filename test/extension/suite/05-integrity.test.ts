import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ext, setting } from './helpers';
import type { VerifyReport } from '../../../src/core/integrity/verify';
import type { RepairResult } from '../../../src/core/integrity/repair';

describe('verify and repair commands on a damaged file', () => {
  let damaged: string;
  before(async () => {
    const ws = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    damaged = path.join(ws, '.damaged', 'events.jsonl');
    fs.mkdirSync(path.dirname(damaged), { recursive: true });
    fs.writeFileSync(damaged, '{"v":1,"id":"torn\nnot json at all\n');
    await setting('file', damaged);
    const { hooks } = await ext();
    assert.equal(hooks.runtime.file, damaged, 'the file setting applied without a reload');
  });
  after(async () => {
    await setting('file', undefined);
  });

  it('Verify Integrity lists the problems', async () => {
    const r = (await vscode.commands.executeCommand('telemetrySink.verify')) as VerifyReport;
    assert.equal(r.clean, false);
    assert.equal(r.mode, 'fast');
    assert.deepEqual(r.problems.map((p) => `${p.line}:${p.code}`), ['1:torn', '2:invalid_json']);
  });

  it('Verify Integrity (Deep) parses every line, finds the same problems and names its mode', async () => {
    const r = (await vscode.commands.executeCommand('telemetrySink.verifyDeep')) as VerifyReport;
    assert.equal(r.mode, 'deep');
    assert.equal(r.totals.fastPath, 0);
    assert.deepEqual(r.problems.map((p) => `${p.line}:${p.code}`), ['1:torn', '2:invalid_json']);
  });

  it('Repair moves them to a quarantine file; a second verify is clean', async () => {
    const { hooks } = await ext();
    const asked = hooks.stubRepairConfirm!(true);
    let res: RepairResult[];
    try {
      res = (await vscode.commands.executeCommand('telemetrySink.repair')) as RepairResult[];
    } finally {
      hooks.stubRepairConfirm!(undefined);
    }
    assert.equal(asked(), 1, 'Repair asked first');
    const moved = res.find((r) => !r.clean)!;
    assert.equal(moved.linesMoved, 2);
    assert.ok(fs.existsSync(moved.quarantine!));
    const r = (await vscode.commands.executeCommand('telemetrySink.verify')) as VerifyReport;
    assert.equal(r.clean, true, JSON.stringify(r.problems));
  });

  it('Show Statistics renders a webview page from the file', async () => {
    const html = (await vscode.commands.executeCommand('telemetrySink.showStatistics')) as string;
    assert.match(html, /Content-Security-Policy/);
    assert.match(html, /Events over time/);
    assert.doesNotMatch(html, /<script/i);
  });

  it('Rotate Now and Copy Events File Path', async () => {
    assert.equal(await vscode.commands.executeCommand('telemetrySink.rotateNow'), true);
    assert.equal(await vscode.commands.executeCommand('telemetrySink.copyEventsFilePath'), damaged);
    assert.equal(await vscode.env.clipboard.readText(), damaged);
  });
});
