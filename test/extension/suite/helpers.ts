import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { Runtime } from '../../../src/runtime';
import type { StatusBar } from '../../../src/ui/statusBar';
import type { IngestServer } from '../../../src/core/ingest/http';

export const EXT_ID = 'local-telemetry-sink.local-telemetry-sink';

export interface TestHooks {
  runtime: Runtime;
  status: StatusBar;
  activationMs: number;
  ingest: () => IngestServer | undefined;
  flushCollectors: () => void;
  /** The bearer token the HTTP ingest requires (generated on first enable, kept in SecretStorage). */
  httpToken?: () => string | undefined;
  /** Replaces the Repair confirmation dialog (undefined restores it); returns how often it was asked. */
  stubRepairConfirm?: (answer: boolean | undefined) => () => number;
  /** The lazily loaded bundles (src/lazy/load.ts) loaded when activate() returned, and now. */
  bundlesAtActivation?: string[];
  loadedBundles?: () => string[];
  /** Sets how long an edit burst must be quiet to end (undefined: the product's 1 s). */
  setEditQuietMs: (ms: number | undefined) => void;
}

export async function ext(): Promise<{ api: { version: number; file: string; recordAiEvent: (e: unknown, id?: string) => number; record: (t: string, d?: unknown, id?: string) => number }; hooks: TestHooks }> {
  const e = vscode.extensions.getExtension(EXT_ID);
  if (!e) throw new Error(`${EXT_ID} is not installed`);
  const api = (await e.activate()) as { _test: TestHooks } & Awaited<ReturnType<typeof ext>>['api'];
  return { api, hooks: api._test };
}

export interface Line {
  sid: string;
  seq: number;
  type: string;
  source: string;
  data: Record<string, unknown>;
}

/** Flushes this window's sink and returns the parsed lines of its file. */
export async function lines(): Promise<Line[]> {
  const { hooks } = await ext();
  hooks.flushCollectors();
  await hooks.runtime.sink?.flush();
  const file = hooks.runtime.file;
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

export async function mine(): Promise<Line[]> {
  const { hooks } = await ext();
  const sid = hooks.runtime.sink?.sid;
  return (await lines()).filter((l) => l.sid === sid);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export async function setting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('telemetrySink').update(key, value, vscode.ConfigurationTarget.Global);
  await sleep(200);
}

export function measure(key: string, value: unknown): void {
  const m = (globalThis as { __inhostMeasurements?: Record<string, unknown> }).__inhostMeasurements;
  if (m) m[key] = value;
}

import { freePort } from '../../helpers/ports';
export { freePort };

export interface Posted {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { error?: { code: string; message: string }; accepted?: number; dropped?: number; seq?: number[] };
}

/** POSTs to the loopback ingest on `port` (Host header set right unless overridden). */
export function post(port: number, pathname: string, body: string, headers: Record<string, string> = {}): Promise<Posted> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: pathname, agent: false, headers: { 'content-type': 'application/json', host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: Posted['json'] = {};
        try {
          json = JSON.parse(text || '{}');
        } catch {
          /* not JSON: the test looks at body */
        }
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Turns HTTP ingest on at a free port and waits until it serves; returns the port. */
export async function serveHttp(): Promise<number> {
  const port = await freePort();
  await setting('http.port', port);
  await setting('http.enabled', true);
  const { hooks } = await ext();
  await waitFor('ingest serving', () => hooks.ingest()?.state === 'serving');
  return port;
}
