import { defaultEventsFile } from '../core/sink/paths';
import { listRotated } from '../core/sink/rotation';
import { IntegrityError } from '../core/integrity/reader';
import { SinkError } from '../core/sink/errors';
import { MAX_LINE_BYTES } from '../core/sink/envelope';
import { verify } from '../core/integrity/verify';
import { repair } from '../core/integrity/repair';
import { formatRepair, formatVerify } from '../core/integrity/format';
import { DETAILED_PROGRESS_BYTES, progressText } from '../core/integrity/progress';
import { CommandSpec, intFlag, parseCommand } from './args';
import { printError, printJson, printText } from './output';

export const VERIFY: CommandSpec = {
  name: 'verify',
  valued: ['file', 'max-problems', 'max-line', 'jobs'],
  switches: ['all', 'json', 'deep'],
  synopsis: ['[--file F]', '[--all]', '[--json]', '[--max-problems N]', '[--max-line N]', '[--jobs N]', '[--deep]'],
  help: `telemetry-sink verify — check every line of the events file

  --file F           events file (default ${defaultEventsFile()})
  --all              the live file and its rotated set, in write order
  --json             machine-readable report (documented in README)
  --max-problems N   list at most N problems (default 100; all are counted)
  --max-line N       length cap per line in bytes (default ${MAX_LINE_BYTES}, the writer's cap)
  --jobs N           classify lines in N worker threads (default 0: in-process; faster, more memory)
  --deep             parse every line (JSON.parse + schema) instead of the fast scanner for
                     crc-verified lines; same checks and problems, slower (the report names the mode)

Exit status: 0 clean, 1 problems found, 2 could not run.`,
};

export const REPAIR: CommandSpec = {
  name: 'repair',
  valued: ['file', 'lock-timeout'],
  switches: ['all', 'json'],
  synopsis: ['[--file F]', '[--all]', '[--json]', '[--lock-timeout MS]'],
  help: `telemetry-sink repair — move damaged lines to a quarantine file, losslessly

  --file F           events file (default ${defaultEventsFile()})
  --all              also repair the rotated files
  --json             machine-readable result
  --lock-timeout MS  give up if the lock stays busy this long (default 5000)

Valid lines stay; damaged ones go to <name>.quarantine-<UTC stamp>-<hex>.jsonl with their line
number, byte offset, reason and raw bytes. The file is rewritten in place (same inode, owner and
mode) from its first damaged line on; a clean file is not touched. What a killed repair left is
finished or cleaned first. Symbolic links and non-regular files are refused.
Exit status: 0 repaired or clean, 1 failed, 2 could not run.`,
};

export function progress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const t0 = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 200 || total < DETAILED_PROGRESS_BYTES) return;
    last = now;
    process.stderr.write(`\r\x1b[K${label} ${((done / total) * 100).toFixed(0)}% (${progressText(done, total, now - t0)})`);
  };
}

export async function runIntegrityCommand(cmd: 'verify' | 'repair', argv: string[]): Promise<number> {
  const f = parseCommand(argv, cmd === 'verify' ? VERIFY : REPAIR);
  if (!f) return 0;
  const file = typeof f.file === 'string' ? f.file : defaultEventsFile();
  const json = !!f.json;
  try {
    if (cmd === 'verify') {
      const p = progress('verifying');
      const r = await verify({ file, all: !!f.all, maxProblems: intFlag('max-problems', f['max-problems'], 100), maxLineBytes: intFlag('max-line', f['max-line'], MAX_LINE_BYTES), workers: intFlag('jobs', f.jobs, 0), deep: !!f.deep, onProgress: p });
      if (p) process.stderr.write('\r\x1b[K');
      if (json) printJson(r);
      else printText(formatVerify(r));
      return r.clean ? 0 : 1;
    }
    const targets = f.all ? [...listRotated(file).map((x) => x.path), file] : [file];
    const results = [];
    for (const t of targets) results.push(await repair({ file: t, live: file, lockTimeoutMs: intFlag('lock-timeout', f['lock-timeout'], 5000) }));
    if (json) printJson(results.length === 1 ? results[0] : results);
    else printText(results.map(formatRepair).join(''));
    return 0;
  } catch (err) {
    // Every failure is reported with its code, never as an "internal error": for verify and stats
    // exit 1 means "problems found", so an I/O failure is 2 (could not run).
    const code = err instanceof IntegrityError || err instanceof SinkError ? err.code : sysCodeOf(err) ? 'ERR_READ' : undefined;
    if (code === undefined) throw err;
    const sys = (err as { sysCode?: string }).sysCode ?? sysCodeOf(err);
    printError(`telemetry-sink ${cmd}: ${(err as Error).message} [${code}${sys && !(err as Error).message.includes(sys) ? `, ${sys}` : ''}]\n`);
    // repair: 1 when it ran and failed, 2 when it could not run (nothing was changed).
    if (cmd === 'repair' && err instanceof IntegrityError) return !['ERR_NOT_FOUND', 'ERR_READ', 'ERR_NOT_REGULAR', 'ERR_OWNER', 'ERR_UNSAFE_DIR'].includes(err.code) ? 1 : 2;
    return 2;
  }
}

function sysCodeOf(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' && /^E[A-Z0-9]+$/.test(c) ? c : undefined;
}
