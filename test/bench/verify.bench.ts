/**
 * npm run bench:verify — full verification speed and peak memory on a generated file of realistic
 * events, next to a bare readline + JSON.parse loop measured in the same run.
 * Each measurement runs in its own process so its peak RSS is its own.
 *   node out/test/bench/verify.bench.js [sizeMB=200] [--gb]   (--gb adds a 1 GB memory check)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Sink } from '../../src/core/sink/appender';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

async function generate(file: string, mb: number): Promise<number> {
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

const BASELINE = `
const fs = require('fs'), readline = require('readline');
(async () => {
  const t0 = Date.now(); let n = 0, bad = 0;
  const rl = readline.createInterface({ input: fs.createReadStream(process.argv[1]), crlfDelay: Infinity });
  for await (const l of rl) { try { JSON.parse(l); n++; } catch { bad++; } }
  console.log(JSON.stringify({ ms: Date.now() - t0, n, bad, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
})();`;

function measure(args: string[]): string {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return r.stdout + r.stderr;
}

function verifyRun(file: string, jobs = 0): { mbPerSec: number; maxRssMB: number; clean: boolean; wallMs: number } {
  // Run the CLI through a wrapper that reports its own peak RSS.
  const wrapper = `process.on('exit', () => process.stderr.write('RSS ' + process.resourceUsage().maxRSS / 1024 + '\\n')); require(${JSON.stringify(CLI)}).main(process.argv.slice(1)).then((c) => (process.exitCode = c));`;
  const r = spawnSync(process.execPath, ['-e', wrapper, 'verify', '--file', file, '--json', '--jobs', String(jobs)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const rep = JSON.parse(r.stdout) as { clean: boolean; elapsedMs: number; files: Array<{ checkedBytes: number }> };
  const rss = Number(/RSS ([\d.]+)/.exec(r.stderr)?.[1] ?? 0);
  const bytes = rep.files.reduce((a, f) => a + f.checkedBytes, 0);
  return { mbPerSec: +(bytes / 1e6 / (rep.elapsedMs / 1000)).toFixed(1), maxRssMB: Math.round(rss), clean: rep.clean, wallMs: rep.elapsedMs };
}

async function main(): Promise<void> {
  const mb = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-vbench-'));
  const file = path.join(dir, 'events.jsonl');
  const size = await generate(file, mb);
  const base = measure(['-e', BASELINE, file]);
  const b = JSON.parse(base) as { ms: number; maxRssMB: number; n: number };
  const v = verifyRun(file);
  const v2 = verifyRun(file, 2);
  const out: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, node: process.versions.node },
    fileMB: +(size / 1e6).toFixed(1),
    lines: b.n,
    verifyFull: { mbPerSec: v.mbPerSec, peakRssMB: v.maxRssMB, clean: v.clean },
    verifyFullJobs2: { mbPerSec: v2.mbPerSec, peakRssMB: v2.maxRssMB, clean: v2.clean },
    baselineReadlineJsonParse: { mbPerSec: +(size / 1e6 / (b.ms / 1000)).toFixed(1), peakRssMB: Math.round(b.maxRssMB) },
    ratioToBaseline: +(v.mbPerSec / (size / 1e6 / (b.ms / 1000))).toFixed(2),
  };
  if (process.argv.includes('--gb')) {
    const big = path.join(dir, 'big.jsonl');
    const bsize = await generate(big, 1000);
    const g = verifyRun(big);
    const g2 = verifyRun(big, 2);
    const gb = JSON.parse(measure(['-e', BASELINE, big])) as { ms: number; maxRssMB: number };
    out.oneGigabyte = {
      fileMB: +(bsize / 1e6).toFixed(0),
      mbPerSec: g.mbPerSec,
      peakRssMB: g.maxRssMB,
      clean: g.clean,
      jobs2: { mbPerSec: g2.mbPerSec, peakRssMB: g2.maxRssMB },
      baselineReadlineJsonParse: { mbPerSec: +(bsize / 1e6 / (gb.ms / 1000)).toFixed(1), peakRssMB: Math.round(gb.maxRssMB) },
    };
  }
  out.targets = { 'verify >= 300 MB/s': v.mbPerSec >= 300, 'verify --jobs 2 >= 300 MB/s': v2.mbPerSec >= 300, 'peak RSS <= 100 MB': v.maxRssMB <= 100 };
  console.log(JSON.stringify(out, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
