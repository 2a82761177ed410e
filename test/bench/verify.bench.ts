/**
 * npm run bench:verify — verify's speed and peak memory on two generated file shapes, next to the
 * baselines measured in the same run on the same files:
 *   editor: short editor events (250–450-byte lines, ~10 small data fields, 7 interleaved sessions);
 *   mixed:  the earlier shape (editor and AI events from 4 sinks, batch-interleaved).
 * Modes, each in its own process so its peak RSS (maxRSS) is its own: verify (default, fast mode),
 * verify --deep, verify --jobs 2, a bare Node readline + JSON.parse loop, a Python
 * `for line in f: json.loads(line)` loop. Each mode runs RUNS times (min–max and median printed).
 *   node out/test/bench/verify.bench.js [sizeMB=150]
 *   env: BENCH_RUNS=3; BENCH_GB=1 adds a 1 GB editor-shape file (default mode and the baselines);
 *   BENCH_SESSIONS=1 (or a count) adds 1,000,000 two-event CLI sessions (default mode, peak RSS).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Sink } from '../../src/core/sink/appender';
import { buildLine } from '../../src/core/sink/envelope';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));

/** Short editor events, line-interleaved across 7 sessions, sealed by the sink's own line builder. */
export function generateEditor(file: string, mb: number): number {
  const sids = Array.from({ length: 7 }, (_, k) => `5e55${k}a00-0000-4000-8000-${String(k).padStart(12, '0')}`);
  const seqs = new Array<number>(sids.length).fill(0);
  const types = ['"editor.document.change"', '"editor.selection.change"', '"editor.active.change"', '"editor.document.save"', '"window.focus.change"', '"terminal.open"'];
  const langs = ['typescript', 'python', 'rust', 'markdown', 'json', 'go'];
  const fd = fs.openSync(file, 'w');
  let size = 0;
  let t = Date.UTC(2026, 10, 28, 9, 0, 0);
  for (let i = 0; size < mb * 1e6; ) {
    const out: string[] = [];
    for (let k = 0; k < 10_000; k++, i++) {
      const s = (i * 5 + (i >> 3)) % sids.length;
      t += i % 3;
      const type = types[i % types.length]!;
      const data =
        type === '"window.focus.change"'
          ? { focused: (i & 1) === 1, windows: 1 + (i % 3), idle_ms: 1000 + (i % 5000) }
          : { path: `src/pkg${i % 41}/${'module_'.repeat(i % 11)}${i % 97}.ts`, language_id: langs[i % 6], version: i % 1000, changes: i % 17, inserted: i % 113, deleted: i % 7, lines: 10 + (i % 2000), dirty: (i & 1) === 1, burst_ms: i % 250, scheme: 'file' };
      const id = `${(0x10000000 + i).toString(16)}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0')}`;
      out.push(buildLine(id, new Date(t).toISOString(), sids[s]!, seqs[s]!++, type, '"vscode"', JSON.stringify(data)));
    }
    const chunk = out.join('');
    fs.writeSync(fd, chunk);
    size += Buffer.byteLength(chunk);
  }
  fs.closeSync(fd);
  return size;
}

/** A script calling the CLI once per event: each session is a session.start and one event. */
function generateSessions(file: string, sessions: number): number {
  const fd = fs.openSync(file, 'w');
  for (let k = 0; k < sessions; k += 10_000) {
    const out: string[] = [];
    for (let i = k; i < Math.min(sessions, k + 10_000); i++) {
      const sid = `${(0x10000000 + i).toString(16)}-c110-4000-8000-${String(i).padStart(12, '0')}`;
      const id = (n: number): string => `${(n * 0x1000000 + i).toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
      out.push(buildLine(id(1), '2026-11-28T03:00:00.000Z', sid, 0, '"session.start"', '"cli"', JSON.stringify({ app: 'telemetry-sink-cli', pid: 1000 + (i % 30000), lock_backend: 'flock' })));
      out.push(buildLine(id(2), '2026-11-28T03:00:00.001Z', sid, 1, '"build.finished"', '"cli"', JSON.stringify({ ok: true, ms: i % 5000 })));
    }
    fs.writeSync(fd, out.join(''));
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/** The earlier shape: real sinks, editor and AI events, flushed in batches. */
async function generateMixed(file: string, mb: number): Promise<number> {
  const types = ['editor.document.change', 'editor.save', 'editor.active', 'ai.completion.shown', 'ai.completion.accepted', 'window.focus'];
  const langs = ['typescript', 'python', 'rust', 'markdown', 'json'];
  const sinks = Array.from({ length: 4 }, () => new Sink({ file, source: 'vscode' }));
  let i = 0;
  while (fs.existsSync(file) ? fs.statSync(file).size < mb * 1e6 : true) {
    for (let k = 0; k < 20_000; k++, i++) {
      const t = types[i % types.length]!;
      const data = t.startsWith('ai.')
        ? { kind: t.slice(14), 'gen_ai.provider.name': 'ollama', 'gen_ai.request.model': 'qwen2.5-coder:7b', latency_ms: 180 + (i % 300), chars: 40 + (i % 200), lines: 1 + (i % 5), language_id: langs[i % 5], is_local: true, detection: 'reported' }
        : { path: `src/module${i % 97}/file${i % 13}.ts`, language_id: langs[i % 5], changes: i % 17, inserted: i % 113, deleted: i % 7, lines_added: i % 3 };
      sinks[i % 4]!.record(t, data);
    }
    await Promise.all(sinks.map((s) => s.flush()));
  }
  await Promise.all(sinks.map((s) => s.close()));
  return fs.statSync(file).size;
}

const NODE_LOOP = `
const fs = require('fs'), readline = require('readline');
(async () => {
  const t0 = process.hrtime.bigint(); let n = 0, bad = 0;
  const rl = readline.createInterface({ input: fs.createReadStream(process.argv[1]), crlfDelay: Infinity });
  for await (const l of rl) { try { JSON.parse(l); n++; } catch { bad++; } }
  const u = process.resourceUsage();
  console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rssMB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
})();`;

const PY_LOOP = `
import json, resource, sys, time
t0 = time.perf_counter(); n = 0
with open(sys.argv[1], encoding='utf-8') as f:
    for line in f:
        json.loads(line); n += 1
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"ms": (time.perf_counter() - t0) * 1000, "rssMB": u.ru_maxrss / 1024, "cpuMs": (u.ru_utime + u.ru_stime) * 1000}))`;

interface Sample {
  mbPerSec: number;
  /** MB per CPU-second of the whole process (every thread, start-up included): steadier on a busy machine. */
  cpuMbPerSec: number;
  rssMB: number;
  clean?: boolean;
  mode?: string;
  fastPath?: number;
}

function verifyOnce(file: string, size: number, extra: string[]): Sample {
  // The CLI in a wrapper that reports its own peak RSS.
  const wrapper = `process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('RSS ' + u.maxRSS / 1024 + ' CPU ' + (u.userCPUTime + u.systemCPUTime) / 1000 + '\\n'); }); require(${JSON.stringify(CLI)}).main(process.argv.slice(1)).then((c) => (process.exitCode = c));`;
  const r = spawnSync(process.execPath, ['-e', wrapper, 'verify', '--file', file, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rep = JSON.parse(r.stdout) as { clean: boolean; elapsedMs: number; mode: string; totals: { fastPath: number; lines: number } };
  const rss = Number(/RSS ([\d.]+)/.exec(r.stderr)?.[1] ?? 0);
  const cpu = Number(/CPU ([\d.]+)/.exec(r.stderr)?.[1] ?? 0);
  return { mbPerSec: size / 1e6 / (rep.elapsedMs / 1000), cpuMbPerSec: size / 1e6 / (cpu / 1000), rssMB: rss, clean: rep.clean, mode: rep.mode, fastPath: rep.totals.fastPath / rep.totals.lines };
}

function loopOnce(cmd: string, args: string[], size: number): Sample {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const o = JSON.parse(r.stdout) as { ms: number; rssMB: number; cpuMs: number };
  return { mbPerSec: size / 1e6 / (o.ms / 1000), cpuMbPerSec: size / 1e6 / (o.cpuMs / 1000), rssMB: o.rssMB };
}

const MODES: Record<string, (file: string, size: number) => Sample> = {
  default: (f, s) => verifyOnce(f, s, []),
  deep: (f, s) => verifyOnce(f, s, ['--deep']),
  jobs2: (f, s) => verifyOnce(f, s, ['--jobs', '2']),
  nodeLoop: (f, s) => loopOnce(process.execPath, ['-e', NODE_LOOP, f], s),
  pythonLoop: (f, s) => loopOnce('python3', ['-c', PY_LOOP, f], s),
};

const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Runs every mode RUNS times, interleaved (so load changes hit all modes alike). */
function measureShape(file: string, size: number, modes: string[]): Record<string, unknown> {
  const samples: Record<string, Sample[]> = Object.fromEntries(modes.map((m) => [m, []]));
  for (let run = 0; run < RUNS; run++) for (const m of modes) samples[m]!.push(MODES[m]!(file, size));
  const out: Record<string, unknown> = { fileMB: r1(size / 1e6) };
  const medOf = (m: string): number => med(samples[m]!.map((s) => s.mbPerSec));
  for (const m of modes) {
    const s = samples[m]!;
    const speeds = s.map((x) => x.mbPerSec);
    const rss = s.map((x) => x.rssMB);
    out[m] = {
      mbPerSec: `${r1(Math.min(...speeds))}–${r1(Math.max(...speeds))} (median ${r1(medOf(m))})`,
      cpuMbPerSec: `median ${r1(med(s.map((x) => x.cpuMbPerSec)))}`,
      peakRssMB: `${Math.round(Math.min(...rss))}–${Math.round(Math.max(...rss))}`,
      ...(s[0]!.mode ? { mode: s[0]!.mode, clean: s.every((x) => x.clean), fastPathShare: r1((s[0]!.fastPath ?? 0) * 100) + '%' } : {}),
    };
  }
  const ratio = (a: string, b: string): number | undefined => (samples[a] && samples[b] ? Math.round((medOf(a) / medOf(b)) * 100) / 100 : undefined);
  out.ratios = { 'default/python': ratio('default', 'pythonLoop'), 'default/node': ratio('default', 'nodeLoop'), 'jobs2/python': ratio('jobs2', 'pythonLoop'), 'default/deep': ratio('default', 'deep') };
  const cpuMed = (m: string): number => med(samples[m]!.map((x) => x.cpuMbPerSec));
  const cpuRatio = (a: string, b: string): number | undefined => (samples[a] && samples[b] ? Math.round((cpuMed(a) / cpuMed(b)) * 100) / 100 : undefined);
  out.cpuRatios = { 'default/python': cpuRatio('default', 'pythonLoop'), 'default/node': cpuRatio('default', 'nodeLoop'), 'default/deep': cpuRatio('default', 'deep') };
  return out;
}

async function main(): Promise<void> {
  const mb = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 150);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-vbench-'));
  try {
    const all = Object.keys(MODES);
    const editor = path.join(dir, 'editor.jsonl');
    const mixed = path.join(dir, 'mixed.jsonl');
    const out: Record<string, unknown> = { machine: { cpus: os.cpus().length, node: process.versions.node, loadavg: os.loadavg().map(r1) }, runsPerMode: RUNS };
    out.editor = measureShape(editor, generateEditor(editor, mb), all);
    fs.rmSync(editor);
    out.mixed = measureShape(mixed, await generateMixed(mixed, mb), all);
    fs.rmSync(mixed);
    if (process.env.BENCH_GB) {
      const big = path.join(dir, 'big.jsonl');
      out.oneGigabyteEditor = measureShape(big, generateEditor(big, 1000), ['default', 'nodeLoop', 'pythonLoop']);
      fs.rmSync(big);
    }
    if (process.env.BENCH_SESSIONS) {
      const many = path.join(dir, 'sessions.jsonl');
      out.millionSessions = measureShape(many, generateSessions(many, Number(process.env.BENCH_SESSIONS) > 1 ? Number(process.env.BENCH_SESSIONS) : 1_000_000), ['default', 'nodeLoop']);
    }
    const e = out.editor as { ratios: Record<string, number> };
    out.targets = {
      'editor: default >= 3x python': e.ratios['default/python']! >= 3,
      'editor: default >= 1.5x node': e.ratios['default/node']! >= 1.5,
      'editor: jobs2 >= 5x python': e.ratios['jobs2/python']! >= 5,
      ...(out.oneGigabyteEditor ? { '1 GB default peak RSS <= 100 MB': Number(String((out.oneGigabyteEditor as { default: { peakRssMB: string } }).default.peakRssMB).split('–')[1]) <= 100 } : {}),
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
