// Lint: `npm run lint` (also run by `npm test`). The rule that matters most here is the boundary:
// src/core (the VS Code-free core used by the CLI, the shipper and plain-Node tests) never imports
// `vscode`, and never imports anything outside src/core; the CLI never imports `vscode` either.
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const root = path.dirname(new URL(import.meta.url).pathname);
const coreDir = path.join(root, 'src', 'core') + path.sep;

/** A module specifier of an import, export-from, require() or import() call. */
function specifiers(context, check) {
  const visit = (node, source) => {
    if (source && source.type === 'Literal' && typeof source.value === 'string') check(node, source.value);
  };
  return {
    ImportDeclaration: (n) => visit(n, n.source),
    ExportNamedDeclaration: (n) => visit(n, n.source),
    ExportAllDeclaration: (n) => visit(n, n.source),
    ImportExpression: (n) => visit(n, n.source),
    TSImportEqualsDeclaration: (n) => visit(n, n.moduleReference?.expression),
    CallExpression: (n) => {
      if (n.callee.type === 'Identifier' && n.callee.name === 'require') visit(n, n.arguments[0]);
    },
  };
}

const boundary = {
  rules: {
    'core-stays-core': {
      meta: { type: 'problem', schema: [], messages: { vscode: "src/core must not import 'vscode' (it runs in the CLI and plain Node).", outside: "src/core must not import '{{spec}}': it lies outside src/core (imports go shell → core only)." } },
      create(context) {
        const file = context.filename;
        if (!file.startsWith(coreDir)) return {};
        return specifiers(context, (node, spec) => {
          if (spec === 'vscode') context.report({ node, messageId: 'vscode' });
          else if (spec.startsWith('.') && !path.resolve(path.dirname(file), spec).startsWith(coreDir)) context.report({ node, messageId: 'outside', data: { spec } });
        });
      },
    },
    'no-vscode': {
      meta: { type: 'problem', schema: [], messages: { vscode: "This module runs outside VS Code and must not import 'vscode'." } },
      create(context) {
        return specifiers(context, (node, spec) => {
          if (spec === 'vscode') context.report({ node, messageId: 'vscode' });
        });
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', '.cache/', '.vscode-test/', 'test-results/', '**/*.d.ts', 'test/fixtures/ai-extension/', 'test/fixtures/empty-extension/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', clearImmediate: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', performance: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly' } },
    plugins: { boundary },
    rules: {
      'boundary/core-stays-core': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // The same boundary as a plain ESLint rule, as the house rules name it.
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts', 'src/cli.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'The core and the CLI run outside VS Code.' }] }],
      'boundary/no-vscode': 'error',
    },
  },
);
