/**
 * telemetry-sink: record | verify | repair | stats | ship over the same core the extension uses.
 * Exit codes: 0 ok, 1 I/O failure or problems found, 2 cannot run / bad usage, 65 some input rejected.
 */
import { defaultEventsFile } from './core/sink/paths';
import { runIntegrityCommand } from './cli/integrity';
import { runStats } from './cli/stats';
import { record } from './cli/record';
import { ship } from './cli/ship';
import { UsageError } from './cli/args';
import { VERSION } from './cli/version';

const HELP = `telemetry-sink ${VERSION} — local JSONL telemetry with a locked appender

Usage:
  telemetry-sink record [--file F] [--lock auto|flock|lockfile] [--fsync never|batch|always]
                        [--lock-timeout MS] [--rotate-bytes N] [--max-files N] [--max-age-days N]
                        [--wait MS] [--no-session]
  telemetry-sink verify [--file F] [--all] [--json] [--max-problems N] [--jobs N] [--deep]
  telemetry-sink repair [--file F] [--json] [--lock-timeout MS]
  telemetry-sink stats  [--file F] [--range 24h|7d|30d|all] [--json | --csv [--table ID]] [--no-cache]
  telemetry-sink ship   --url URL [--database DB] [--table T] [--file F] [--follow] [--json]
                        [--reset-cursor] [--wait] [--print-ddl]
  telemetry-sink <command> --help

The default file is $TELEMETRY_SINK_FILE, else the platform data folder + telemetry-sink/events.jsonl
(${defaultEventsFile()} here).`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(HELP + '\n');
        return cmd === undefined ? 2 : 0;
      case '--version':
        process.stdout.write(VERSION + '\n');
        return 0;
      case 'record':
        return await record(rest);
      case 'verify':
      case 'repair':
        return await runIntegrityCommand(cmd, rest);
      case 'stats':
        return await runStats(rest);
      case 'ship':
        return await ship(rest);
      default:
        throw new UsageError(`unknown command "${cmd}" (try --help)`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`telemetry-sink: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  // Past RLIMIT_FSIZE a write should fail with EFBIG (reported) rather than kill the process.
  process.on('SIGXFSZ', () => undefined);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`telemetry-sink: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
