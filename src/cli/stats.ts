/** telemetry-sink stats: the same report as Show Statistics, for one range, as text, JSON or CSV. */
import { defaultEventsFile } from '../core/sink/paths';
import { IntegrityError } from '../core/integrity/reader';
import { stats } from '../core/insights/stats';
import { RANGES, type RangeName } from '../core/insights/report';
import { formatStats, terminalCsv } from '../core/report/statsText';
import { reportTables, TABLE_IDS, toCsv, type TableId } from '../core/report/tables';
import { CommandSpec, oneOf, parseCommand, UsageError } from './args';
import { printJson } from './output';
import { progress } from './integrity';

export const STATS: CommandSpec = {
  name: 'stats',
  valued: ['file', 'range', 'table'],
  switches: ['json', 'csv', 'no-cache'],
  legacy: ['all'],
  synopsis: ['[--file F]', `[--range ${RANGES.join('|')}]`, '[--json | --csv [--table ID]]', '[--no-cache]'],
  help: `telemetry-sink stats — AI completions by model, locality, language and day; editor activity; events

  --file F          events file (default ${defaultEventsFile()}); its rotated set is always included
  --range R         24h, 7d, 30d or all (default all); days are local (the TZ environment variable)
  --json            the whole report as JSON (documented in README)
  --csv             one table as CSV (RFC 4180, header row of column names)
  --table ID        with --csv: ${TABLE_IDS.join(', ')} (default ai-groups)
  --no-cache        read every file again; neither read nor write <file>.stats-cache
  --all             accepted for older scripts (the rotated set is always read)

Exit status: 0 ok, 2 could not run (no such file, bad usage).`,
};

export async function runStats(argv: string[]): Promise<number> {
  const f = parseCommand(argv, STATS);
  if (!f) return 0;
  const range = oneOf<RangeName>('range', f.range, RANGES, 'all');
  if (f.json && f.csv) throw new UsageError('--json and --csv cannot be used together');
  if (f.table !== undefined && !f.csv) throw new UsageError('--table needs --csv');
  const table = oneOf<TableId>('table', f.table, TABLE_IDS, 'ai-groups');
  const file = typeof f.file === 'string' ? f.file : defaultEventsFile();
  const p = progress('reading');
  try {
    const s = await stats({ file, range, cache: !f['no-cache'], onProgress: p });
    if (p) process.stderr.write('\r\x1b[K');
    if (f.json) printJson(s);
    else if (f.csv) {
      // A table with no data yet (e.g. no AI events) is its header row alone.
      // On a terminal, text from the file must not act on it (OSC 52, clear screen); piped, it stays exact.
      const csv = toCsv(reportTables(s).find((x) => x.id === table)!);
      process.stdout.write(process.stdout.isTTY ? terminalCsv(csv) : csv);
    } else process.stdout.write(formatStats(s));
    return 0;
  } catch (err) {
    if (err instanceof IntegrityError) {
      process.stderr.write(`telemetry-sink stats: ${err.message} [${err.code}]\n`);
      return 2;
    }
    throw err;
  }
}
