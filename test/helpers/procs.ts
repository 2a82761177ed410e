import { spawn, ChildProcess, SpawnOptions } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const WRITER = path.join(ROOT, 'out', 'test', 'fixtures', 'writer.js');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string | Buffer } = {}): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  child.stdin?.on("error", () => undefined);
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  return { child, done };
}

/** A writer process (test/fixtures/writer.ts) run by `node` (default: this Node). */
export function writer(cfg: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, node = process.execPath): { child: ChildProcess; done: Promise<Done>; sid: Promise<string> } {
  const r = run(node, [WRITER, JSON.stringify(cfg)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const sid = new Promise<string>((resolve, reject) => {
    let buf = '';
    r.child.stdout!.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { sid: string }).sid);
    });
    r.child.on('close', () => reject(new Error('writer exited before printing its sid')));
  });
  sid.catch(() => undefined);
  return { ...r, sid };
}

export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
