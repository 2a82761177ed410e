/**
 * The table: ReplacingMergeTree ordered by (sid, seq), so an event sent twice (a batch re-sent after
 * a crash or a lost acknowledgement) is one row under FINAL. Partitioned by month of ts: a re-sent
 * event has the same ts, so both copies always share a partition (replacing only works within one).
 * The cluster variant shards by sid so both copies also share a shard.
 */
import { COLUMNS } from './rows';
import type { ClickHouseHttp } from './clickhouse';
import { ShipError } from './errors';

const body = (): string => COLUMNS.map((c) => `    ${c.name.padEnd(16)} ${c.type}`).join(',\n');
const TAIL = 'PARTITION BY toYYYYMM(ts)\nORDER BY (sid, seq)';

export function createStatements(db: string, table: string): string[] {
  return [`CREATE DATABASE IF NOT EXISTS ${db}`, `CREATE TABLE IF NOT EXISTS ${db}.${table}\n(\n${body()}\n)\nENGINE = ReplacingMergeTree()\n${TAIL}`];
}

/** ON CLUSTER: a replicated local table on every node plus a Distributed table sharded by sid. */
export function clusterStatements(db: string, table: string, cluster: string): string[] {
  const local = `${table}_local`;
  return [
    `CREATE DATABASE IF NOT EXISTS ${db} ON CLUSTER ${cluster}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${local} ON CLUSTER ${cluster}\n(\n${body()}\n)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${db}/${local}', '{replica}')\n${TAIL}`,
    `CREATE TABLE IF NOT EXISTS ${db}.${table} ON CLUSTER ${cluster} AS ${db}.${local}\nENGINE = Distributed(${cluster}, ${db}, ${local}, cityHash64(sid))`,
  ];
}

export function printableDdl(db: string, table: string, cluster: string): string {
  const semi = (xs: string[]): string => xs.map((s) => s + ';').join('\n\n');
  return `-- Single node (what \`telemetry-sink ship\` runs itself, idempotently):\n${semi(createStatements(db, table))}\n\n-- Cluster (run once, by hand; needs ZooKeeper and the {shard}/{replica} macros on every node).\n-- Point the shipper at the Distributed table ${db}.${table}.\n${semi(clusterStatements(db, table, cluster))}\n`;
}

/** The README's example queries, run verbatim by the ship tests. `{t}` is db.table. */
export const EXAMPLE_QUERIES: Record<string, string> = {
  acceptanceByModel: `SELECT ai_model,
       countIf(ai_kind = 'shown') AS shown,
       countIf(ai_kind IN ('accepted', 'partially_accepted')) AS accepted,
       countIf(ai_kind = 'rejected') AS rejected,
       round(accepted / nullIf(shown, 0), 3) AS acceptance_rate
FROM {t} FINAL
WHERE type LIKE 'ai.completion.%' AND ai_detection = 'reported'
GROUP BY ai_model
ORDER BY shown DESC`,
  latencyLocalVsRemote: `SELECT if(ai_is_local = 1, 'local', 'remote') AS locality,
       count() AS events,
       quantileExact(0.5)(ai_latency_ms) AS p50_ms,
       quantileExact(0.95)(ai_latency_ms) AS p95_ms
FROM {t} FINAL
WHERE type LIKE 'ai.completion.%' AND ai_latency_ms IS NOT NULL AND ai_is_local IS NOT NULL
GROUP BY locality
ORDER BY locality`,
  eventsPerLanguagePerDay: `SELECT toDate(ts) AS day, language, count() AS events
FROM {t} FINAL
WHERE language != ''
GROUP BY day, language
ORDER BY day, events DESC, language`,
};

interface TableRow {
  engine: string;
  sorting_key: string;
  engine_full: string;
}

const SORT_KEY = 'sid, seq';

/** The rows of a JSONEachRow answer; whatever else answered 200 (a proxy page, another service) is an error with a code. */
function jsonRows<T>(ans: string): T[] {
  return ans.trim().split('\n').filter(Boolean).map((line) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      row = undefined;
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      const shown = line.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
      throw new ShipError('ERR_CLICKHOUSE', `the server's answer is not JSONEachRow (is the URL a ClickHouse HTTP port?): ${shown}`);
    }
    return row as T;
  });
}

async function tableInfo(ch: ClickHouseHttp, db: string, table: string, signal?: AbortSignal): Promise<TableRow | undefined> {
  const ans = await ch.query(`SELECT engine, sorting_key, engine_full FROM system.tables WHERE database = '${db}' AND name = '${table}' FORMAT JSONEachRow`, signal);
  return jsonRows<TableRow>(ans)[0];
}

/** Why a table cannot hold events exactly once, or undefined. Distributed tables are judged by their local table. */
export function engineProblem(t: TableRow): string | undefined {
  if (t.engine === 'ReplacingMergeTree' || t.engine === 'ReplicatedReplacingMergeTree') {
    return t.sorting_key === SORT_KEY ? undefined : `is ordered by (${t.sorting_key}), not (${SORT_KEY}): re-sent events would not collapse under FINAL`;
  }
  if (t.engine === 'Distributed') {
    const args = /Distributed\((.*)\)/.exec(t.engine_full)?.[1]?.split(',').map((s) => s.trim()) ?? [];
    return args.length >= 4 && /\bsid\b/.test(args.slice(3).join(',')) ? undefined : 'is Distributed without a sharding key on sid: both copies of a re-sent event must land on the same shard';
  }
  return `has engine ${t.engine}: re-sent events would count twice (needs ReplacingMergeTree ORDER BY (${SORT_KEY}))`;
}

/** Creates the database and table if missing (idempotent), then checks engine, key and columns. */
export async function ensureSchema(ch: ClickHouseHttp, signal?: AbortSignal): Promise<void> {
  const { database: db, table } = ch.dest;
  for (const s of createStatements(db, table)) await ch.query(s, signal);
  const t = await tableInfo(ch, db, table, signal);
  if (!t) throw new ShipError('ERR_SCHEMA', `${db}.${table} does not exist after CREATE TABLE IF NOT EXISTS`);
  const why = engineProblem(t);
  if (why) throw new ShipError('ERR_SCHEMA', `table ${db}.${table} ${why}`);
  if (t.engine === 'Distributed') {
    const [, ldb, ltable] = /Distributed\((.*)\)/.exec(t.engine_full)![1]!.split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
    const local = ldb && ltable ? await tableInfo(ch, ldb, ltable, signal) : undefined;
    const lwhy = local && engineProblem(local);
    if (lwhy) throw new ShipError('ERR_SCHEMA', `local table ${ldb}.${ltable} of ${db}.${table} ${lwhy}`);
  }
  const cols = await ch.query(`SELECT name, type FROM system.columns WHERE database = '${db}' AND table = '${table}' FORMAT JSONEachRow`, signal);
  const have = new Map(jsonRows<{ name: string; type: string }>(cols).map((c) => [c.name, c.type] as const));
  const bad = COLUMNS.filter((c) => have.get(c.name) !== c.type).map((c) => `${c.name} ${c.type} (has ${have.get(c.name) ?? 'none'})`);
  if (bad.length) throw new ShipError('ERR_SCHEMA', `table ${db}.${table} lacks or differs in columns: ${bad.join(', ')}`);
}
