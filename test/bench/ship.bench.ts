/**
 * npm run bench:ship — rows/s shipping an events file with `telemetry-sink ship`, next to ClickHouse's
 * own bulk load of the same rows (`clickhouse-client --query "INSERT … FORMAT JSONEachRow" < rows`) in
 * the same run, twice each, alternating. Shapes: `short` editor events (~240 B lines), `long` AI events
 * carrying completion text (~1.5 KB), and the realistic `mix` (default: all three). Each round also
 * runs the shipper as it was before verify's header scanner was used (TELEMETRY_SINK_SHIP_FULL_PARSE=1:
 * every line parsed and checked in full), and the last round a warm run (1 % appended, the cursor
 * caught up). Prints the shipper's peak RSS (target ≤ 150 MB) and the ratio (target ≥ 50 %).
 *   node out/test/bench/ship.bench.js [events=1000000] [--shape short|long|mix]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Sink } from '../../src/core/sink/appender';
import { ensureClickHouse, clientBinary, startClickHouse, ClickHouseServer } from '../helpers/clickhouse';
import { realistic, type Ev } from '../helpers/shipfix';
import { createStatements } from '../../src/core/ship/ddl';
import { COLUMNS, parseRow, toRow } from '../../src/core/ship/rows';
import type { EnvelopeV1 } from '../../src/core/sink/envelope';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

type Shape = 'short' | 'long' | 'mix';
const LANGS = ['typescript', 'python', 'rust', 'go'];
/** A completion's text as `captureContent` records it. */
const TEXT = Array.from({ length: 24 }, (_, k) => `    const value${k} = compute(input, ${k}); // step ${k}\n`).join('');

function shapeEvents(shape: Shape, n: number): Ev[] {
  if (shape === 'mix') return realistic(n);
  return realistic(n).map((e, i): Ev => {
    const lang = LANGS[i % LANGS.length]!;
    if (shape === 'long') return e.type.startsWith('ai.') ? { ...e, data: { ...e.data, text: TEXT.slice(0, 900 + (i % 300)) } } : { type: 'ai.completion.shown', data: { kind: 'shown', detection: 'reported', 'gen_ai.request.model': 'qwen2.5-coder:7b', latency_ms: 90 + (i % 300), language_id: lang, is_local: true, text: TEXT.slice(0, 900 + (i % 300)) } };
    // Short editor events (~240 B lines with the envelope): focus changes, saves, small edit bursts.
    const k = i % 4;
    if (k === 0 || k === 2) return { type: 'window.focus', data: { focused: k === 0 } };
    return k === 1 ? { type: 'editor.document.save', data: { language_id: lang } } : { type: 'editor.document.change', data: { language_id: lang, changes: 1 + (i % 9), duration_ms: (i * 37) % 4000 } };
  });
}

async function generate(file: string, n: number, shape: Shape): Promise<void> {
  const sinks = Array.from({ length: 4 }, () => new Sink({ file, source: 'vscode', maxQueueEvents: 200_000, maxQueueBytes: 256 << 20 }));
  const shapes = shapeEvents(shape, 20_000);
  for (let i = 0; i < n; ) {
    for (let k = 0; k < 20_000 && i < n; k++, i++) sinks[i % 4]!.record(shapes[k]!.type, shapes[k]!.data);
    await Promise.all(sinks.map((s) => s.flush()));
  }
  await Promise.all(sinks.map((s) => s.close()));
}

/** The rows the shipper sends, as bulk-load input: JSONEachRow (the baseline) and TabSeparated. */
function rowsFiles(file: string, json: string, tsv: string): number {
  const jfd = fs.openSync(json, 'w');
  const tfd = fs.openSync(tsv, 'w');
  let n = 0;
  let pj: string[] = [];
  let pt: string[] = [];
  const drain = (): void => {
    fs.writeSync(jfd, pj.join(''));
    fs.writeSync(tfd, pt.join(''));
    pj = [];
    pt = [];
  };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const row = toRow(JSON.parse(line) as EnvelopeV1, Buffer.from(line), true, 'h:0000000000000000');
    pt.push(row);
    pj.push(JSON.stringify(parseRow(row)) + '\n');
    if (++n % 10_000 === 0) drain();
  }
  drain();
  fs.closeSync(jfd);
  fs.closeSync(tfd);
  return n;
}

async function bulk(ch: ClickHouseServer, rows: string, db: string, format: 'JSONEachRow' | 'TabSeparated'): Promise<number> {
  for (const s of createStatements(db, 'events')) await ch.query(s);
  const cols = format === 'TabSeparated' ? ` (${COLUMNS.map((c) => c.name).join(', ')})` : '';
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', `"${clientBinary()}" --host 127.0.0.1 --port ${ch.tcpPort} --query "INSERT INTO ${db}.events${cols} FORMAT ${format}" < "${rows}"`], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`clickhouse-client failed: ${r.stderr}`);
  return ms;
}

function ship(ch: ClickHouseServer, file: string, db: string, before = false): Promise<{ wallMs: number; r: { shipped: number; elapsedMs: number; rowsPerSecond: number; cpuMs: number; maxRssMB: number } }> {
  const t0 = process.hrtime.bigint();
  const p = spawn(process.execPath, [CLI, 'ship', '--url', ch.url, '--file', file, '--database', db, '--json'], { env: { ...process.env, TELEMETRY_SINK_SHIP_SALT: 'bench-salt-0123456789', ...(before ? { TELEMETRY_SINK_SHIP_FULL_PARSE: '1' } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    p.on('close', (code) => (code === 0 ? resolve({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, r: JSON.parse(out) }) : reject(new Error(`ship exited ${code}`)))),
  );
}

async function main(): Promise<void> {
  const inst = ensureClickHouse();
  if (!inst.ok) {
    console.log(`bench:ship skipped: ${inst.reason}`);
    return;
  }
  const n = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 1_000_000);
  const k = process.argv.indexOf('--shape');
  const shapes: Shape[] = k > 0 ? [process.argv[k + 1] as Shape] : ['short', 'long', 'mix'];
  const ch = await startClickHouse();
  try {
    for (const shape of shapes) await benchShape(ch, shape, shape === 'long' ? Math.ceil(n / 4) : n);
  } finally {
    await ch.destroy();
  }
}

const rate = (rows: number, ms: number): string => Math.round(rows / (ms / 1000)).toLocaleString('en-US');
const µs = (cpuMs: number, rows: number): string => ((cpuMs * 1000) / rows).toFixed(1);

async function benchShape(ch: ClickHouseServer, shape: Shape, n: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-shipbench-'));
  const file = path.join(dir, 'events.jsonl');
  try {
    console.log(`[${shape}] generating ${n.toLocaleString('en-US')} events (4 writers) …`);
    await generate(file, n, shape);
    const bytes = fs.statSync(file).size;
    const rows = path.join(dir, 'rows.jsonl');
    const rowsTsv = path.join(dir, 'rows.tsv');
    const nrows = rowsFiles(file, rows, rowsTsv);
    console.log(`[${shape}] events file ${(bytes / 1e6).toFixed(0)} MB (${(bytes / nrows).toFixed(0)} B/event); the same rows as JSONEachRow ${(fs.statSync(rows).size / 1e6).toFixed(0)} MB, as TabSeparated ${(fs.statSync(rowsTsv).size / 1e6).toFixed(0)} MB`);
    const shipRates: number[] = [];
    const beforeRates: number[] = [];
    const bulkRates: number[] = [];
    const tsvRates: number[] = [];
    for (let round = 1; round <= 2; round++) {
      const db = `${shape}${round}`;
      const bms = await bulk(ch, rows, `bulk_${db}`, 'JSONEachRow');
      bulkRates.push(nrows / (bms / 1000));
      const tms = await bulk(ch, rowsTsv, `bulktsv_${db}`, 'TabSeparated');
      tsvRates.push(nrows / (tms / 1000));
      const b = await ship(ch, file, `before_${db}`, true);
      const s = await ship(ch, file, `ship_${db}`);
      for (const [x, d] of [[b, `before_${db}`], [s, `ship_${db}`]] as const) {
        if (x.r.shipped !== nrows) throw new Error(`shipped ${x.r.shipped} of ${nrows}`);
        const count = await ch.scalar(`SELECT count() FROM ${d}.events FINAL`);
        if (count !== nrows) throw new Error(`ClickHouse holds ${count} of ${nrows}`);
      }
      beforeRates.push(nrows / (b.wallMs / 1000));
      shipRates.push(nrows / (s.wallMs / 1000));
      console.log(`[${shape}] round ${round}: cold ship ${rate(nrows, s.wallMs)} rows/s (wall ${(s.wallMs / 1000).toFixed(1)} s, CPU ${µs(s.r.cpuMs, nrows)} µs/event, peak RSS ${s.r.maxRssMB} MB) · before (full parse) ${rate(nrows, b.wallMs)} rows/s (wall ${(b.wallMs / 1000).toFixed(1)} s, CPU ${µs(b.r.cpuMs, nrows)} µs/event, peak RSS ${b.r.maxRssMB} MB) · bulk load JSONEachRow ${rate(nrows, bms)} rows/s (${(bms / 1000).toFixed(1)} s), TabSeparated ${rate(nrows, tms)} rows/s`);
      if (round === 2) {
        // Warm: a writer appended 1 % since; the cursor is caught up, so only the new lines are read.
        const more = Math.max(1, Math.round(n / 100));
        await generate(file, more, shape);
        const w = await ship(ch, file, `ship_${db}`);
        if (w.r.shipped !== more) throw new Error(`warm run shipped ${w.r.shipped} of ${more}`);
        console.log(`[${shape}] warm (1 % = ${more.toLocaleString('en-US')} events appended, cursor caught up): ${(w.wallMs / 1000).toFixed(2)} s wall, CPU ${w.r.cpuMs} ms`);
      }
    }
    const best = (xs: number[]): number => Math.max(...xs);
    console.log(`[${shape}] ship / bulk load JSONEachRow (best of 2 each): ${((best(shipRates) / best(bulkRates)) * 100).toFixed(0)} % (before: ${((best(beforeRates) / best(bulkRates)) * 100).toFixed(0)} %; target ≥ 50 %); / bulk TabSeparated ${((best(shipRates) / best(tsvRates)) * 100).toFixed(0)} %; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
