/**
 * The extension ships as several bundles side by side in dist/: extension.js holds only what
 * activation needs; the rest is required here on first use (esbuild entries in esbuild.config.mjs).
 * The entries live in this folder, so the same relative path also works from tsc's out/ tree.
 *
 * Only types cross the boundary statically. A module whose state must be shared (src/ship/state.ts)
 * lives in dist/extension.js only: the lazy bundles get what they need passed in. Modules copied into
 * several bundles must keep no state that another copy relies on (`node esbuild.config.mjs
 * --metafile` writes dist/meta.json, which says what each bundle holds).
 */
import * as path from 'node:path';
import type * as SinkBundle from './sink';
import type * as IntegrityBundle from './integrity';
import type * as InsightsBundle from './insights';
import type * as HttpBundle from './http';

export interface Bundles {
  /** The writer and the door policy: needed as soon as the first event is written (after activation). */
  sink: typeof SinkBundle;
  /** Verify and Repair (ajv and the schema among them). */
  integrity: typeof IntegrityBundle;
  /** Show Statistics, its CSV export and the status bar's figures for today. */
  insights: typeof InsightsBundle;
  /** The loopback HTTP ingest (only when enabled, or for New HTTP Token). */
  http: typeof HttpBundle;
}
export type BundleName = keyof Bundles;

const loaded: Partial<Bundles> = {};

/** The bundle, required on first use (a missing file throws, as a failed require does). */
export function bundle<K extends BundleName>(name: K): Bundles[K] {
  const have = loaded[name];
  if (have) return have as Bundles[K];
  // A computed path keeps esbuild from inlining the bundle into dist/extension.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const b = require(path.join(__dirname, `${name}.js`)) as Bundles[K];
  loaded[name] = b;
  return b;
}

/** Which bundles this extension host has loaded so far (tests: activation loads none). */
export function loadedBundles(): BundleName[] {
  return (Object.keys(loaded) as BundleName[]).sort();
}
