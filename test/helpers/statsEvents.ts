/** Envelope lines with chosen timestamps and data, for statistics tests and the stats benchmark. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLine } from '../../src/core/sink/envelope';
import { tmpDir } from './tmp';

let n = 0;

export interface Ev {
  t: number | string;
  type: string;
  data?: Record<string, unknown>;
  sid?: string;
  source?: string;
}

export function ev(e: Ev): string {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const ts = typeof e.t === 'number' ? new Date(e.t).toISOString() : e.t;
  return buildLine(id, ts, e.sid ?? 'aaaaaaaa-0000-4000-8000-000000000001', n, JSON.stringify(e.type), JSON.stringify(e.source ?? 'vscode'), JSON.stringify(e.data ?? {}));
}

export function ai(t: number, kind: string, data: Record<string, unknown> = {}): string {
  return ev({ t, type: `ai.completion.${kind}`, data: { kind, detection: 'reported', ...data } });
}

export function edit(t: number, language: string, durationMs: number, data: Record<string, unknown> = {}): string {
  return ev({ t, type: 'editor.document.change', data: { language_id: language, changes: 1, chars_inserted: 1, chars_deleted: 0, duration_ms: durationMs, ...data } });
}

export function tmpEvents(content = ''): { dir: string; file: string } {
  const dir = tmpDir('lts-stats-');
  const file = path.join(dir, 'events.jsonl');
  if (content) fs.writeFileSync(file, content, { mode: 0o600 });
  return { dir, file };
}

/** A report without the fields that describe the run rather than the data. */
export function figures<T extends { build?: unknown; generatedAt?: unknown }>(r: T): Omit<T, 'build' | 'generatedAt'> {
  const { build: _b, generatedAt: _g, ...rest } = r;
  void _b;
  void _g;
  return rest;
}
