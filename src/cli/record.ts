import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { Sink } from '../core/sink/appender';
import { FSYNC_POLICIES, FsyncPolicy, LOCK_MODES, LockMode } from '../core/lists';
import { defaultEventsFile } from '../core/sink/paths';
import { MAX_LINE_BYTES } from '../core/sink/envelope';
import { admitLine, DoorPolicy } from '../core/ingest/policy';
import { scrubPaths } from '../core/privacy';
import { CommandSpec, intFlag, oneOf, parseCommand } from './args';
import { InputLine, LineSplitter } from './lines';
import { VERSION } from './version';
import { printError } from './output';

const HELP = `telemetry-sink record — append newline-delimited JSON from stdin

Each input line is {"type": "a.b", "data": {...}} or a seed-style payload
{"event_type": ..., "extension": ..., "is_local": ..., "success": ...}, UTF-8, at most ${MAX_LINE_BYTES} bytes.
A bad line is reported on stderr as "line N: <why>" and skipped; good lines are written.
Types the extension writes itself (session.*, sink.*, editor.*, window.*, terminal.*, task.*,
debug.*, workspace.*) are refused. Content (prompts, completions, text, messages, long strings)
is left out unless --capture-content; README "What can be written" lists the rules.
On SIGTERM, SIGINT or SIGHUP it stops reading, writes what it read, then session.end, and exits.

Options:
  --file F            events file (default ${defaultEventsFile()})
  --lock MODE         ${LOCK_MODES.join(' | ')} (default auto: flock via fs-ext or koffi, else lockfile)
  --fsync POLICY      ${FSYNC_POLICIES.join(' | ')} (default never)
  --lock-timeout MS   give up on a busy lock after MS per attempt (default 5000)
  --rotate-bytes N    rotate the live file before it would exceed N bytes (default 0 = off)
  --max-files N       after a rotation keep at most N rotated files (default 0 = all)
  --max-age-days N    after a rotation delete rotated files older than N days (default 0 = never)
  --wait MS           keep retrying a busy lock or a failing disk this long, at exit and while
                      reading is paused on a full queue (default 30000)
  --no-session        do not write session.start / session.end events
  --capture-content   also write content fields (prompts, completions, text, …)

Exit status: 0 all lines written, 65 some lines rejected, 1 I/O failure, 2 bad usage.`;

export const RECORD: CommandSpec = {
  name: 'record',
  valued: ['file', 'lock', 'fsync', 'lock-timeout', 'rotate-bytes', 'max-files', 'max-age-days', 'wait'],
  switches: ['no-session', 'capture-content'],
  synopsis: ['[--file F]', `[--lock ${LOCK_MODES.join('|')}]`, `[--fsync ${FSYNC_POLICIES.join('|')}]`, '[--lock-timeout MS]', '[--rotate-bytes N]', '[--max-files N]', '[--max-age-days N]', '[--wait MS]', '[--no-session]', '[--capture-content]'],
  help: HELP,
};

/** Pause reading stdin while this much is queued: the CLI never drops, it waits for the writer. */
const PAUSE_EVENTS = 20_000;
const PAUSE_BYTES = 8 * 1024 * 1024;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export async function record(argv: string[]): Promise<number> {
  const f = parseCommand(argv, RECORD);
  if (!f) return 0;
  const lock = oneOf<LockMode>('lock', f.lock, LOCK_MODES, 'auto');
  const fsync = oneOf<FsyncPolicy>('fsync', f.fsync, FSYNC_POLICIES, 'never');
  const lockTimeoutMs = intFlag('lock-timeout', f['lock-timeout'], 5000);
  const rotation = { maxBytes: intFlag('rotate-bytes', f['rotate-bytes'], 0), maxFiles: intFlag('max-files', f['max-files'], 0), maxAgeDays: intFlag('max-age-days', f['max-age-days'], 0) };
  const waitMs = intFlag('wait', f.wait, 30_000);
  let sink: Sink;
  try {
    sink = new Sink({
      file: typeof f.file === 'string' ? f.file : defaultEventsFile(),
      source: 'cli',
      lock,
      fsync,
      lockTimeoutMs,
      rotation,
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
  const policy: DoorPolicy = { captureContent: !!f['capture-content'] };
  let rejected = 0;
  const reject = (line: number, why: string): void => {
    rejected++;
    printError(`line ${line}: ${why}\n`);
  };
  const splitter = new LineSplitter(MAX_LINE_BYTES, (l) => recordLine(sink, l, policy, reject));
  const reading = readInput(sink, splitter, waitMs);
  const { signal, stalled } = await reading.done;
  if (signal && splitter.pendingBytes > 0) reject(splitter.nextLine, `cut short by ${signal} (no newline after ${splitter.pendingBytes} bytes); not recorded`);
  const inputLines = splitter.nextLine - 1 + (signal && splitter.pendingBytes > 0 ? 1 : 0);
  const res = await sink.close({ sessionEnd: session ? { input_lines: inputLines, rejected, ...(signal ? { signal } : {}) } : false, timeoutMs: waitMs });
  reading.dispose();
  if (stalled) return 1; // said on stderr: the rest of the input was not read
  if (res.pending > 0 || res.error) {
    process.stderr.write(`telemetry-sink: ${res.error?.message ?? 'not everything was written'} [${res.error?.code ?? 'ERR_UNFLUSHED'}]\n`);
    return 1;
  }
  return rejected > 0 ? 65 : 0;
}

/** One input line: checked (length, UTF-8, JSON, fields) and recorded, or rejected naming the line. */
function recordLine(sink: Sink, l: InputLine, policy: DoorPolicy, reject: (line: number, why: string) => void): void {
  if (!l.bytes) return reject(l.line, `too long (over ${MAX_LINE_BYTES} bytes)`);
  if (!isUtf8(l.bytes)) return reject(l.line, 'not valid UTF-8');
  const text = l.bytes.toString('utf8');
  if (text.trim() === '') return reject(l.line, 'blank line');
  try {
    const ev = admitLine(text, policy);
    sink.record(ev.type, ev.data);
  } catch (err) {
    reject(l.line, (err as Error).message);
  }
}

/**
 * Reads stdin to its end, or until SIGTERM / SIGINT / SIGHUP (returned): lines complete by then
 * are recorded, the rest of the input is left unread. A second signal (until dispose) exits at
 * once with status 1.
 * Reading pauses while the queue is large, so nothing is ever dropped; when the writer makes no
 * progress for `waitMs` (a lock held forever, a failing disk) it stops reading and the exit says so.
 */
function readInput(sink: Sink, splitter: LineSplitter, waitMs: number): { done: Promise<{ signal?: NodeJS.Signals; stalled?: boolean }>; dispose: () => void } {
  const input = process.stdin;
  let onSignal: (sig: NodeJS.Signals) => void = () => undefined;
  const done = new Promise<{ signal?: NodeJS.Signals; stalled?: boolean }>((resolve) => {
    let stopped: NodeJS.Signals | undefined;
    let stalled = false;
    let waiting = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      input.removeListener('data', onData);
      resolve({ ...(stopped ? { signal: stopped } : {}), ...(stalled ? { stalled } : {}) });
    };
    const onData = (chunk: Buffer): void => {
      splitter.push(chunk);
      if (waiting || (sink.queuedEvents < PAUSE_EVENTS && sink.stats().queued.bytes < PAUSE_BYTES)) return;
      waiting = true;
      input.pause();
      void drain(sink, waitMs).then((ok) => {
        waiting = false;
        if (stopped || finished) return;
        if (ok) return void input.resume();
        process.stderr.write(`telemetry-sink: stopped reading: the writer made no progress for ${waitMs} ms; the rest of the input was not read\n`);
        stalled = true;
        input.destroy();
        finish();
      });
    };
    onSignal = (sig: NodeJS.Signals): void => {
      if (stopped) {
        process.stderr.write(`telemetry-sink: second signal (${sig}): exiting without waiting; ${sink.queuedEvents} events not written\n`);
        process.exit(1);
      }
      stopped = sig;
      input.pause();
      input.destroy();
      finish();
    };
    for (const s of SIGNALS) process.on(s, onSignal);
    input.on('data', onData);
    input.once('end', () => {
      splitter.end();
      finish();
    });
    input.once('error', (err) => {
      process.stderr.write(`telemetry-sink: reading stdin failed: ${err.message}\n`);
      finish();
    });
  });
  return { done, dispose: () => SIGNALS.forEach((s) => process.removeListener(s, onSignal)) };
}

/** Flushes until the queue is below the pause marks; false when that takes longer than `waitMs`. */
async function drain(sink: Sink, waitMs: number): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    await sink.flush();
    if (sink.queuedEvents < PAUSE_EVENTS / 2 && sink.stats().queued.bytes < PAUSE_BYTES / 2) return true;
    if (Date.now() - t0 >= waitMs) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
