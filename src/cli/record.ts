import * as readline from 'node:readline';
import * as path from 'node:path';
import { Sink, FsyncPolicy } from '../core/sink/appender';
import { LockMode } from '../core/sink/locks';
import { defaultEventsFile } from '../core/sink/paths';
import { admitLine } from '../core/ingest/policy';
import { scrubPaths } from '../core/privacy';
import { intFlag, oneOf, parseFlags } from './args';
import { VERSION } from './version';
import { printError } from './output';

const RECORD_HELP = `telemetry-sink record — append newline-delimited JSON from stdin

Each input line is {"type": "a.b", "data": {...}} or a seed-style payload
{"event_type": ..., "extension": ..., "is_local": ..., "success": ...}.
A bad line is reported on stderr as "line N: <why>" and skipped; good lines are written.
Types the extension writes itself (session.*, sink.*, editor.*, window.*, terminal.*, task.*,
debug.*, workspace.*) are refused. Content (prompts, completions, text, messages, long strings)
is left out unless --capture-content; README "What can be written" lists the rules.

Options:
  --file F            events file (default ${defaultEventsFile()})
  --lock MODE         auto (flock via fs-ext or koffi, else lockfile) | flock | lockfile
  --fsync POLICY      never | batch | always (default never)
  --lock-timeout MS   give up on a busy lock after MS per attempt (default 5000)
  --rotate-bytes N    rotate the live file before it would exceed N bytes (default 0 = off)
  --wait MS           at exit, keep retrying a busy lock or a failing disk this long (default 30000)
  --no-session        do not write session.start / session.end events
  --capture-content   also write content fields (prompts, completions, text, …)

Exit status: 0 all lines written, 65 some lines rejected, 1 I/O failure, 2 bad usage.`;

export async function record(argv: string[]): Promise<number> {
  const f = parseFlags(argv, ['file', 'lock', 'fsync', 'lock-timeout', 'rotate-bytes', 'wait'], ['no-session', 'capture-content', 'help']);
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
  if (session) sink.record('session.start', { app: 'telemetry-sink-cli', version: VERSION, pid: process.pid, node: process.versions.node, platform: process.platform, lock_backend: sink.backend.name, lock_provider: sink.backend.provider ?? null, lock_backend_reason: scrubPaths(sink.backendReason, [path.dirname(sink.file)]) });
  const policy = { captureContent: !!f['capture-content'] };
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
      const ev = admitLine(text, policy);
      sink.record(ev.type, ev.data);
    } catch (err) {
      rejected++;
      printError(`line ${lineNo}: ${(err as Error).message}\n`);
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
