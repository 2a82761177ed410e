import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

// The lint rule that keeps src/core free of VS Code: proven here on files that break it.
const root = path.join(__dirname, '..', '..', '..');
const lint = async (rel: string, code: string): Promise<string[]> => {
  const eslint = new ESLint({ cwd: root });
  const [r] = await eslint.lintText(code, { filePath: path.join(root, rel) });
  return (r?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
};

test('a core module that imports vscode (import, require, import()) fails lint', async () => {
  for (const code of ["import * as vscode from 'vscode';\nexport const v = vscode;\n", "export const v = require('vscode');\n", "export const v = import('vscode');\n", "import type { Uri } from 'vscode';\nexport type U = Uri;\n"]) {
    const msgs = await lint('src/core/sink/zz-fixture.ts', code);
    assert.ok(msgs.some((m) => m.startsWith('boundary/core-stays-core')), `${code} → ${msgs.join('; ')}`);
  }
});

test('a core module that imports the VS Code shell fails lint; core-internal imports pass', async () => {
  const bad = await lint('src/core/sink/zz-fixture.ts', "import { Runtime } from '../../runtime';\nexport const r = Runtime;\n");
  assert.ok(bad.some((m) => m.startsWith('boundary/core-stays-core')), bad.join('; '));
  const good = await lint('src/core/sink/zz-fixture.ts', "import { SinkError } from './errors';\nimport { verify } from '../integrity/verify';\nexport const x = [SinkError, verify];\n");
  assert.deepEqual(good, []);
});

test('the CLI may not import vscode; the shell may', async () => {
  assert.ok((await lint('src/cli/zz-fixture.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n")).length > 0);
  assert.deepEqual(await lint('src/commands/zz-fixture.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"), []);
});
