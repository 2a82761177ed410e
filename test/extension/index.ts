/**
 * extensionTestsPath for both code-server (test/harness/run-inhost.mjs) and @vscode/test-electron
 * (npm run test:desktop): runs the mocha suites inside the extension host and writes the results to
 * <first workspace folder>/.inhost-results.json as well as resolving/rejecting run().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // Loaded lazily: vscode is only importable inside the host.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vscode = require('vscode') as typeof import('vscode');
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const out = path.join(ws, '.inhost-results.json');
  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: 'spec' });
  const dir = path.join(__dirname, 'suite');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(dir, f));
  const results = { passed: 0, failed: 0, skipped: 0, failures: [] as Array<{ title: string; error: string }>, measurements: {} as Record<string, unknown>, vscodeVersion: vscode.version };
  (globalThis as { __inhostMeasurements?: Record<string, unknown> }).__inhostMeasurements = results.measurements;
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      fs.writeFileSync(out, JSON.stringify(results, null, 2));
      if (failures > 0) reject(new Error(`${failures} in-host test(s) failed`));
      else resolve();
    });
    runner.on('pass', () => results.passed++);
    runner.on('pending', () => results.skipped++);
    runner.on('fail', (t, err: Error) => {
      results.failed++;
      results.failures.push({ title: t.fullTitle(), error: String(err?.stack ?? err) });
    });
  });
}
