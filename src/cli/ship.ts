/**
 * telemetry-sink ship — sends the events file set into ClickHouse, exactly once after FINAL.
 * Exit: 0 caught up (or stopped by a signal in --follow), 1 shipping failed, 2 usage or cannot start,
 * 3 another shipper of this file set and destination is running, 130 interrupted before caught up.
 */
import { defaultEventsFile } from '../core/sink/paths';
import { printableDdl } from '../core/ship/ddl';
import { describeShipError, ShipError } from '../core/ship/errors';
import { Election, ShipLock } from '../core/ship/election';
import { IDENTITY_MODES } from '../core/ship/settings';
import { checkDestination, cleartextWarning, Destination } from '../core/ship/clickhouse';
import { shipPaths } from '../core/ship/cursor';
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS, Shipper, ShipResult } from '../core/ship/shipper';
import { CommandSpec, Flags, intFlag, oneOf, parseCommand, UsageError } from './args';
import { printError, printJson, printText } from './output';

const SHIP_HELP = `telemetry-sink ship — send the events into ClickHouse, exactly once after FINAL

  --url URL            ClickHouse HTTP endpoint, e.g. http://127.0.0.1:8123 (no credentials in it)
  --database DB        default telemetry        --table T   default events
  --file F             events file (default ${defaultEventsFile()}); its rotated set is shipped too
  --follow             keep tailing the live file (rotations included) until SIGINT/SIGTERM
  --json               print the result as JSON
  --reset-cursor       forget what was shipped and ship everything again (duplicates collapse under FINAL)
  --wait               wait while another shipper runs (default: refuse with exit 3)
  --identity MODE      origin column: hashed (default, salted hash of user@host), plain, none
  --batch-rows N       rows per INSERT (default 25000)    --batch-bytes N   bytes per INSERT (default 8388608)
  --retry-for S        give up after failing S seconds on one batch (default 300; --follow: never)
  --retry-max-ms MS    longest wait between attempts (default 30000)
  --poll-ms MS         --follow: how often to look for new lines (default 1000)
  --print-ddl          print the single-node and cluster DDL and exit  (--cluster NAME, default telemetry_cluster)

User and password come from TELEMETRY_SINK_CLICKHOUSE_USER / TELEMETRY_SINK_CLICKHOUSE_PASSWORD, never
from the command line. The table is created if missing: ReplacingMergeTree ORDER BY (sid, seq); query it
with FINAL. Exit: 0 caught up, 1 shipping failed, 2 usage or cannot start, 3 another shipper runs,
130 interrupted before caught up.`;

export const SHIP: CommandSpec = {
  name: 'ship',
  valued: ['url', 'database', 'table', 'file', 'identity', 'batch-rows', 'batch-bytes', 'retry-for', 'retry-max-ms', 'poll-ms', 'cluster'],
  switches: ['follow', 'json', 'reset-cursor', 'wait', 'print-ddl'],
  synopsis: ['--url URL', '[--database DB]', '[--table T]', '[--file F]', '[--follow]', '[--json]', '[--reset-cursor]', '[--wait]', '[--identity MODE]', '[--batch-rows N]', '[--batch-bytes N]', '[--retry-for S]', '[--retry-max-ms MS]', '[--poll-ms MS]', '[--print-ddl [--cluster NAME]]'],
  help: SHIP_HELP,
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function formatResult(r: ShipResult, follow: boolean): string {
  const lines = [
    `${r.caughtUp ? 'caught up' : r.stopped ? 'stopped' : 'not caught up'}: ${r.shipped.toLocaleString('en-US')} events shipped to ${r.destination} in ${r.batches} batches (${(r.elapsedMs / 1000).toFixed(1)} s, ${r.rowsPerSecond.toLocaleString('en-US')} rows/s)`,
  ];
  if (r.shippedUpTo) lines.push(`shipped up to ${r.shippedUpTo}`);
  if (r.retriedBatches) lines.push(`${r.retriedBatches} batches needed retries`);
  if (r.invalid) lines.push(`not shipped (damaged, as verify reports them): ${Object.entries(r.invalidByCode).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const g of r.gaps) lines.push(`gap: ${g.name} removed before shipped: ${g.bytes} bytes${g.live ? ' or more' : ''}`);
  if (r.reshipped) lines.push(`${r.reshipped} file(s) shipped again from the start (rewritten in place); duplicates collapse under FINAL`);
  if (follow && r.stopped) lines.push('stopped by signal; the cursor is saved');
  return lines.join('\n') + '\n';
}

function destinationFrom(f: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Destination {
  if (typeof f.url !== 'string') throw new UsageError('--url is required (e.g. --url http://127.0.0.1:8123)');
  const dest: Destination = {
    url: f.url,
    database: typeof f.database === 'string' ? f.database : 'telemetry',
    table: typeof f.table === 'string' ? f.table : 'events',
    user: env.TELEMETRY_SINK_CLICKHOUSE_USER || 'default',
    password: env.TELEMETRY_SINK_CLICKHOUSE_PASSWORD ?? '',
  };
  try {
    checkDestination(dest);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return dest;
}

/** Takes the shipping lock: refuses (exit 3) unless --wait, which stands by until it is free. */
async function acquire(lockPath: string, wait: boolean, signal: AbortSignal): Promise<ShipLock | undefined> {
  if (!wait) {
    const lock = new ShipLock(lockPath);
    return lock.tryAcquire() ? lock : undefined;
  }
  return new Promise<ShipLock | undefined>((resolve, reject) => {
    let announced = false;
    const onAbort = (): void => {
      e.stop();
      resolve(undefined);
    };
    const e = new Election(lockPath, {
      retryMs: 1000,
      onElected: (lock) => {
        // From here the shipper owns the lock (and stops on the signal itself).
        signal.removeEventListener('abort', onAbort);
        resolve(lock);
      },
      onStandby: () => {
        if (!announced) process.stderr.write('telemetry-sink ship: another shipper is running; waiting for it to finish\n');
        announced = true;
      },
      onError: (err) => {
        signal.removeEventListener('abort', onAbort);
        e.stop();
        reject(err);
      },
    });
    signal.addEventListener('abort', onAbort, { once: true });
    e.start();
  });
}

/** `--print-ddl`: the single-node and cluster DDL for --database/--table/--cluster (plain identifiers). */
function printDdl(f: Flags): number {
  const db = typeof f.database === 'string' ? f.database : 'telemetry';
  const table = typeof f.table === 'string' ? f.table : 'events';
  const cluster = typeof f.cluster === 'string' ? f.cluster : 'telemetry_cluster';
  for (const [k, v] of [['database', db], ['table', table], ['cluster', cluster]]) if (!IDENT.test(v!)) throw new UsageError(`--${k} must be a plain identifier (got ${JSON.stringify(v)})`);
  process.stdout.write(printableDdl(db, table, cluster));
  return 0;
}

export async function ship(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const f = parseCommand(argv, SHIP);
  if (!f) return 0;
  if (f['print-ddl']) return printDdl(f);
  const dest = destinationFrom(f, env);
  const cleartext = cleartextWarning(dest);
  if (cleartext) process.stderr.write(`telemetry-sink ship: warning: ${cleartext}\n`);
  const file = typeof f.file === 'string' ? f.file : defaultEventsFile(env);
  const follow = !!f.follow;
  const identity = oneOf('identity', f.identity, IDENTITY_MODES, 'hashed');
  const batchRows = intFlag('batch-rows', f['batch-rows'], DEFAULT_BATCH_ROWS);
  const batchBytes = intFlag('batch-bytes', f['batch-bytes'], DEFAULT_BATCH_BYTES);
  if (batchRows < 1 || batchBytes < 1024) throw new UsageError('--batch-rows must be ≥ 1 and --batch-bytes ≥ 1024');
  const retryFor = f['retry-for'] === undefined ? (follow ? Infinity : 300) : intFlag('retry-for', f['retry-for'], 300);
  const retryMaxMs = intFlag('retry-max-ms', f['retry-max-ms'], 30_000);
  const pollMs = intFlag('poll-ms', f['poll-ms'], 1000);

  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lock: ShipLock | undefined;
  try {
    const { label } = checkDestination(dest);
    lock = await acquire(shipPaths(file, label).lock, !!f.wait, ac.signal);
    if (!lock) {
      if (ac.signal.aborted) return follow ? 0 : 130;
      process.stderr.write(`telemetry-sink ship: another shipper of ${file} to ${label} is running (use --wait to wait for it) [ERR_SHIP_BUSY]\n`);
      return 3;
    }
    const shipper = new Shipper({
      file, dest, lock, follow, pollMs, batchRows, batchBytes, identity,
      resetCursor: !!f['reset-cursor'],
      // Diagnostics and the benchmark's before/after: every line parsed and checked in full (same rows).
      fast: env.TELEMETRY_SINK_SHIP_FULL_PARSE !== '1',
      retry: { giveUpMs: retryFor === 0 ? Infinity : retryFor * 1000, maxMs: Math.max(1, retryMaxMs), baseMs: Math.min(250, Math.max(1, retryMaxMs)) },
      signal: ac.signal,
      log: (level, msg) => printError(`telemetry-sink ship: ${level === 'info' ? '' : level + ': '}${msg}\n`),
    });
    const r = await shipper.run();
    if (f.json) printJson(r);
    else printText(formatResult(r, follow));
    if (r.stopped) return follow ? 0 : 130;
    return r.caughtUp ? 0 : 1;
  } catch (err) {
    if (!(err instanceof ShipError)) throw err;
    const d = describeShipError(err);
    process.stderr.write(`telemetry-sink ship: ${d.message} [${d.code}]\n`);
    return ['ERR_SHIP_CONFIG', 'ERR_CURSOR_CORRUPT', 'ERR_UNSAFE_PATH', 'ERR_SCHEMA'].includes(err.code) ? 2 : 1;
  } finally {
    lock?.release();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
