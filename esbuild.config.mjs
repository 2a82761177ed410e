// Bundles the extension (vscode external) and the CLI. The extension is several bundles: extension.js
// holds only what activation needs; sink, integrity, insights and http are required on first use
// (src/lazy/load.ts). With --metafile, dist/meta.json says what each bundle holds (tests read it).
// The flock providers stay external and ship
// inside the VSIX under node_modules: fs-ext (a NAN addon compiled by npm ci for this Node) and
// koffi (Node-API, prebuilt binaries per platform; test/harness/package.mjs picks which to ship).
// Usage: node esbuild.config.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { readFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const metafile = process.argv.includes('--metafile');
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  sourcesContent: false,
  external: ['vscode', 'fs-ext', 'koffi'],
  define: { __VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  // loaded on first use, beside extension.js (src/lazy/load.ts): keep each big module in one of them
  ...['sink', 'integrity', 'insights', 'http'].map((n) => ({ ...common, entryPoints: [`src/lazy/${n}.ts`], outfile: `dist/${n}.js` })),
  { ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // verify's worker thread, loaded by path from next to the bundle that starts it
  { ...common, entryPoints: ['src/core/integrity/verifyWorker.ts'], outfile: 'dist/verifyWorker.js' },
  // the ClickHouse shipper, required by the extension only when shipping is on
  { ...common, entryPoints: ['src/ship/bundle.ts'], outfile: 'dist/ship.js' },
];

// The public API's type declarations ship beside the bundle (package.json "types").
mkdirSync('dist', { recursive: true });
copyFileSync('src/core/ingest/local-telemetry-sink.d.ts', 'dist/local-telemetry-sink.d.ts');

if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
  console.log('[esbuild] watching');
} else {
  const results = await Promise.all(builds.map((b) => esbuild.build({ ...b, metafile })));
  if (metafile) {
    const outputs = {};
    for (const r of results) for (const [file, o] of Object.entries(r.metafile.outputs)) if (file.endsWith('.js')) outputs[file] = { bytes: o.bytes, inputs: Object.fromEntries(Object.entries(o.inputs).map(([k, v]) => [k, v.bytesInOutput])) };
    writeFileSync('dist/meta.json', JSON.stringify(outputs, null, 1));
  }
}
