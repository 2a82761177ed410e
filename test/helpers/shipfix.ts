/** Shared by the ship tests and the ship benchmark: event files, the CLI, and the file-side truth. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Sink } from '../../src/core/sink/appender';
import { listRotated } from '../../src/core/sink/rotation';
import { CLI, Done, run } from './procs';

export interface Ev {
  type: string;
  data: Record<string, unknown>;
}

/** Writes events through a real Sink (one session); returns its sid. */
export async function writeEvents(file: string, evs: Ev[], rotateBytes = 0): Promise<string> {
  const sink = new Sink({ file, source: 'cli', rotation: { maxBytes: rotateBytes }, maxQueueEvents: Math.max(1000, evs.length + 10) });
  for (const e of evs) sink.record(e.type, e.data);
  const r = await sink.close();
  if (r.error) throw r.error;
  return sink.sid;
}

const LANGS = ['typescript', 'python', 'rust', 'markdown', 'json'];
const MODELS = ['qwen2.5-coder:7b', 'gpt-4o-mini', 'codestral'];

/** The shapes users have: short editor events and longer AI completion events. */
export function realistic(n: number, seed = 1): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const k = (i * 7 + seed) % 10;
    if (k < 3) {
      const kind = ['shown', 'accepted', 'rejected', 'shown', 'partially_accepted'][Math.floor(i / 10) % 5]!;
      out.push({
        type: `ai.completion.${kind}`,
        data: { kind, detection: i % 11 === 0 ? 'heuristic' : 'reported', 'gen_ai.provider.name': i % 2 ? 'ollama' : 'openai', 'gen_ai.request.model': MODELS[Math.floor(i / 7) % 3], latency_ms: 50 + ((i * 37) % 400), 'gen_ai.usage.input_tokens': 100 + (i % 50), 'gen_ai.usage.output_tokens': 10 + (i % 30), chars: 40 + (i % 200), lines: 1 + (i % 5), language_id: LANGS[i % 5], is_local: i % 2 === 1 },
      });
    } else if (k < 8) {
      out.push({ type: 'editor.document.change', data: { path: `src/m${i % 97}/f${i % 13}.ts`, language_id: LANGS[i % 5], changes: i % 17, chars_inserted: i % 113, chars_deleted: i % 7 } });
    } else {
      out.push({ type: 'window.focus', data: { focused: i % 2 === 0 } });
    }
  }
  return out;
}

export function shipCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: import('node:child_process').ChildProcess; done: Promise<Done> } {
  return run(process.execPath, [CLI, 'ship', ...args], { env: { ...process.env, TELEMETRY_SINK_SHIP_SALT: 'test-salt-0123456789', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function setFiles(file: string): string[] {
  return [...listRotated(file).map((r) => r.path), ...(fs.existsSync(file) ? [file] : [])];
}

/** Every (sid, seq) of the valid lines of the set, "sid\tseq", sorted as ClickHouse sorts them. */
export function fileKeys(file: string): string[] {
  const keys: string[] = [];
  for (const f of setFiles(file)) {
    for (const l of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!l) continue;
      try {
        const o = JSON.parse(l) as { sid: string; seq: number };
        if (typeof o.sid === 'string' && typeof o.seq === 'number') keys.push(`${o.sid}\t${o.seq}`);
      } catch {
        /* damaged: not shipped */
      }
    }
  }
  return keys.sort(byKey);
}

export function byKey(a: string, b: string): number {
  const [sa, qa] = a.split('\t');
  const [sb, qb] = b.split('\t');
  return sa! < sb! ? -1 : sa! > sb! ? 1 : Number(qa) - Number(qb);
}

export function cursorFiles(file: string): string[] {
  const dir = path.dirname(file);
  return fs.readdirSync(dir).filter((n) => n.startsWith(path.basename(file) + '.ship-') && n.endsWith('.cursor')).map((n) => path.join(dir, n));
}
