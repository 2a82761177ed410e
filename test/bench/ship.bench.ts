/**
 * npm run bench:ship — rows/s shipping a 1M-event file (the realistic mix: short editor events and
 * longer AI events) with `telemetry-sink ship`, next to ClickHouse's own bulk load of the same rows
 * (`clickhouse-client --query "INSERT … FORMAT JSONEachRow" < rows`) in the same run, twice each,
 * alternating. Prints the shipper's peak RSS (target ≤ 150 MB) and the ratio (target ≥ 50 %).
 *   node out/test/bench/ship.bench.js [events=1000000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Sink } from '../../src/core/sink/appender';
import { ensureClickHouse, clientBinary, startClickHouse, ClickHouseServer } from '../helpers/clickhouse';
import { realistic } from '../helpers/shipfix';
import { createStatements } from '../../src/core/ship/ddl';
import { COLUMNS, parseRow, toRow } from '../../src/core/ship/rows';
import type { EnvelopeV1 } from '../../src/core/sink/envelope';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

async function generate(file: string, n: number): Promise<void> {
  const sinks = Array.from({ length: 4 }, () => new Sink({ file, source: 'vscode', maxQueueEvents: 200_000, maxQueueBytes: 256 << 20 }));
  const shapes = realistic(20_000);
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

function ship(ch: ClickHouseServer, file: string, db: string): Promise<{ wallMs: number; r: { shipped: number; elapsedMs: number; rowsPerSecond: number; cpuMs: number; maxRssMB: number } }> {
  const t0 = process.hrtime.bigint();
  const p = spawn(process.execPath, [CLI, 'ship', '--url', ch.url, '--file', file, '--database', db, '--json'], { env: { ...process.env, TELEMETRY_SINK_SHIP_SALT: 'bench-salt-0123456789' }, stdio: ['ignore', 'pipe', 'inherit'] });
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
  const n = Number(process.argv[2] ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-shipbench-'));
  const file = path.join(dir, 'events.jsonl');
  console.log(`generating ${n.toLocaleString('en-US')} events (4 writers, realistic mix) …`);
  await generate(file, n);
  const bytes = fs.statSync(file).size;
  const rows = path.join(dir, 'rows.jsonl');
  const rowsTsv = path.join(dir, 'rows.tsv');
  const nrows = rowsFiles(file, rows, rowsTsv);
  console.log(`events file ${(bytes / 1e6).toFixed(0)} MB (${(bytes / nrows).toFixed(0)} B/event); the same rows as JSONEachRow ${(fs.statSync(rows).size / 1e6).toFixed(0)} MB, as TabSeparated ${(fs.statSync(rowsTsv).size / 1e6).toFixed(0)} MB`);
  const ch = await startClickHouse();
  try {
    const results: string[] = [];
    const shipRates: number[] = [];
    const bulkRates: number[] = [];
    const tsvRates: number[] = [];
    for (let round = 1; round <= 2; round++) {
      const bms = await bulk(ch, rows, `bulk${round}`, 'JSONEachRow');
      bulkRates.push(nrows / (bms / 1000));
      const tms = await bulk(ch, rowsTsv, `bulktsv${round}`, 'TabSeparated');
      tsvRates.push(nrows / (tms / 1000));
      const s = await ship(ch, file, `ship${round}`);
      if (s.r.shipped !== nrows) throw new Error(`shipped ${s.r.shipped} of ${nrows}`);
      const count = await ch.scalar(`SELECT count() FROM ship${round}.events FINAL`);
      if (count !== nrows) throw new Error(`ClickHouse holds ${count} of ${nrows}`);
      shipRates.push(nrows / (s.wallMs / 1000));
      results.push(`round ${round}: ship ${Math.round(nrows / (s.wallMs / 1000)).toLocaleString('en-US')} rows/s (process wall ${(s.wallMs / 1000).toFixed(1)} s, ${s.r.rowsPerSecond.toLocaleString('en-US')} rows/s inside, CPU ${(s.r.cpuMs / 1000).toFixed(1)} s = ${((s.r.cpuMs * 1000) / nrows).toFixed(1)} µs/event), peak RSS ${s.r.maxRssMB} MB · bulk load JSONEachRow ${Math.round(nrows / (bms / 1000)).toLocaleString('en-US')} rows/s (${(bms / 1000).toFixed(1)} s), TabSeparated ${Math.round(nrows / (tms / 1000)).toLocaleString('en-US')} rows/s`);
    }
    for (const r of results) console.log(r);
    const best = (xs: number[]): number => Math.max(...xs);
    console.log(`ship / bulk load JSONEachRow (best of 2 each): ${((best(shipRates) / best(bulkRates)) * 100).toFixed(0)} % (target ≥ 50 %); / bulk TabSeparated ${((best(shipRates) / best(tsvRates)) * 100).toFixed(0)} %; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    await ch.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
