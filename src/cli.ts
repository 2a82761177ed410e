/**
 * telemetry-sink: record | verify | repair | stats over the same core the extension uses.
 * Exit codes: 0 ok, 1 I/O failure or problems found, 2 cannot run / bad usage, 65 some input rejected.
 */
import * as readline from 'node:readline';
import { Sink, FsyncPolicy } from './core/sink/appender';
import { LockMode } from './core/sink/locks';
import { defaultEventsFile } from './core/sink/paths';
import { parseInputLine } from './core/ingest/input';
import { runIntegrityCommand } from './cli/integrity';
import { intFlag, oneOf, parseFlags, UsageError } from './cli/args';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

const HELP = `telemetry-sink ${VERSION} — local JSONL telemetry with a locked appender

Usage:
  telemetry-sink record [--file F] [--lock auto|flock|lockfile] [--fsync never|batch|always]
                        [--lock-timeout MS] [--rotate-bytes N] [--wait MS] [--no-session]
  telemetry-sink verify [--file F] [--all] [--json] [--max-problems N] [--jobs N]
  telemetry-sink repair [--file F] [--json] [--lock-timeout MS]
  telemetry-sink stats  [--file F] [--all] [--json]
  telemetry-sink <command> --help

The default file is $TELEMETRY_SINK_FILE, else the platform data folder + telemetry-sink/events.jsonl
(${defaultEventsFile()} here).`;

const RECORD_HELP = `telemetry-sink record — append newline-delimited JSON from stdin

Each input line is {"type": "a.b", "data": {...}} or a seed-style payload
{"event_type": ..., "extension": ..., "is_local": ..., "success": ...}.
A bad line is reported on stderr as "line N: <why>" and skipped; good lines are written.

Options:
  --file F            events file (default ${defaultEventsFile()})
  --lock MODE         auto (flock when fs-ext loads, else lockfile) | flock | lockfile
  --fsync POLICY      never | batch | always (default never)
  --lock-timeout MS   give up on a busy lock after MS per attempt (default 5000)
  --rotate-bytes N    rotate the live file before it would exceed N bytes (default 0 = off)
  --wait MS           at exit, keep retrying a busy lock or a failing disk this long (default 30000)
  --no-session        do not write session.start / session.end events

Exit status: 0 all lines written, 65 some lines rejected, 1 I/O failure, 2 bad usage.`;

async function record(argv: string[]): Promise<number> {
  const f = parseFlags(argv, ['file', 'lock', 'fsync', 'lock-timeout', 'rotate-bytes', 'wait'], ['no-session', 'help']);
  if (f.help) {
    process.stdout.write(RECORD_HELP + '\n');
    return 0;
  }
  const lock = oneOf<LockMode>('lock', f.lock, ['auto', 'flock', 'lockfile'], 'auto');
  const fsync = oneOf<FsyncPolicy>('fsync', f.fsync, ['never', 'batch', 'always'], 'never');
  const lockTimeoutMs = intFlag('lock-timeout', f['lock-timeout'], 5000);
  const rotateBytes = intFlag('rotate-bytes', f['rotate-bytes'], 0);
  const waitMs = intFlag('wait', f.wait, 30_000);
  let sink: Sink;
  try {
    sink = new Sink({
      file: typeof f.file === 'string' ? f.file : defaultEventsFile(),
      source: 'cli',
      lock,
      fsync,
      lockTimeoutMs,
      rotation: { maxBytes: rotateBytes },
      log: (level, msg) => {
        if (level !== 'info' || process.env.TELEMETRY_SINK_VERBOSE) process.stderr.write(`telemetry-sink: ${msg}\n`);
      },
    });
  } catch (err) {
    process.stderr.write(`telemetry-sink: ${(err as Error).message} [${(err as { code?: string }).code ?? 'ERR'}]\n`);
    return 1;
  }
  const session = !f['no-session'];
  if (session) sink.record('session.start', { app: 'telemetry-sink-cli', version: VERSION, pid: process.pid, node: process.versions.node, platform: process.platform, lock_backend: sink.backend.name, lock_backend_reason: sink.backendReason });
  let lineNo = 0;
  let rejected = 0;
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const text of rl) {
    lineNo++;
    if (text.trim() === '') {
      rejected++;
      process.stderr.write(`line ${lineNo}: blank line\n`);
      continue;
    }
    try {
      const ev = parseInputLine(text);
      sink.record(ev.type, ev.data);
    } catch (err) {
      rejected++;
      process.stderr.write(`line ${lineNo}: ${(err as Error).message}\n`);
    }
    // Backpressure: a CLI never drops; it waits for the writer instead.
    if (sink.queuedEvents >= 20_000) await sink.flush();
  }
  const res = await sink.close({ sessionEnd: session ? { input_lines: lineNo, rejected } : false, timeoutMs: waitMs });
  if (res.pending > 0 || res.error) {
    process.stderr.write(`telemetry-sink: ${res.error?.message ?? 'not everything was written'} [${res.error?.code ?? 'ERR_UNFLUSHED'}]\n`);
    return 1;
  }
  return rejected > 0 ? 65 : 0;
}

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
      case 'stats':
        return await runIntegrityCommand(cmd, rest);
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
