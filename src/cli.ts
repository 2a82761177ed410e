/**
 * telemetry-sink: record | verify | repair | stats | ship over the same core the extension uses.
 * Exit codes: 0 ok, 1 I/O failure or problems found, 2 cannot run / bad usage, 65 some input rejected.
 */
import { defaultEventsFile } from './core/sink/paths';
import { REPAIR, runIntegrityCommand, VERIFY } from './cli/integrity';
import { runStats, STATS } from './cli/stats';
import { record, RECORD } from './cli/record';
import { ship, SHIP } from './cli/ship';
import { UsageError, usage } from './cli/args';
import { VERSION } from './cli/version';

/** Every subcommand's spec: the usage below is made from them, so it lists exactly their flags. */
export const COMMANDS = [RECORD, VERIFY, REPAIR, STATS, SHIP];

const HELP = `telemetry-sink ${VERSION} — local JSONL telemetry with a locked appender

Usage:
${usage(COMMANDS)}
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
