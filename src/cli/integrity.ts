import { defaultEventsFile } from '../core/sink/paths';
import { listRotated } from '../core/sink/rotation';
import { IntegrityError } from '../core/integrity/reader';
import { verify } from '../core/integrity/verify';
import { repair } from '../core/integrity/repair';
import { stats } from '../core/integrity/stats';
import { formatRepair, formatStats, formatVerify } from '../core/integrity/format';
import { intFlag, parseFlags } from './args';
import { printError, printJson, printText } from './output';

const HELP: Record<string, string> = {
  verify: `telemetry-sink verify — check every line of the events file

  --file F           events file (default ${defaultEventsFile()})
  --all              the live file and its rotated set, in write order
  --json             machine-readable report (documented in README)
  --max-problems N   list at most N problems (default 100; all are counted)
  --max-line N       length cap per line in bytes (default 1048576)
  --jobs N           classify lines in N worker threads (default 0: in-process; faster, more memory)

Exit status: 0 clean, 1 problems found, 2 could not run.`,
  repair: `telemetry-sink repair — move damaged lines to a quarantine file, losslessly

  --file F           events file (default ${defaultEventsFile()})
  --all              also repair the rotated files
  --json             machine-readable result
  --lock-timeout MS  give up if the lock stays busy this long (default 5000)

Valid lines stay in place; damaged ones go to <name>.quarantine-<UTC stamp>.jsonl with their line
number, byte offset, reason and raw bytes. A clean file is not touched.
Exit status: 0 repaired or clean, 1 failed, 2 could not run.`,
  stats: `telemetry-sink stats — counts by type, source, session and day; AI acceptance; lock waits

  --file F    events file (default ${defaultEventsFile()})
  --all       include rotated files
  --json      machine-readable report`,
};

function progress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 200 || total < 20e6) return;
    last = now;
    process.stderr.write(`\r${label} ${((done / total) * 100).toFixed(0)}% (${(done / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB)`);
  };
}

export async function runIntegrityCommand(cmd: 'verify' | 'repair' | 'stats', argv: string[]): Promise<number> {
  const f = parseFlags(argv, ['file', 'max-problems', 'max-line', 'lock-timeout', 'jobs'], ['all', 'json', 'help']);
  if (f.help) {
    process.stdout.write(HELP[cmd] + '\n');
    return 0;
  }
  const file = typeof f.file === 'string' ? f.file : defaultEventsFile();
  const json = !!f.json;
  try {
    if (cmd === 'verify') {
      const p = progress('verifying');
      const r = await verify({ file, all: !!f.all, maxProblems: intFlag('max-problems', f['max-problems'], 100), maxLineBytes: intFlag('max-line', f['max-line'], 1024 * 1024), workers: intFlag('jobs', f.jobs, 0), onProgress: p });
      if (p) process.stderr.write('\r\x1b[K');
      if (json) printJson(r);
      else printText(formatVerify(r));
      return r.clean ? 0 : 1;
    }
    if (cmd === 'repair') {
      const targets = f.all ? [...listRotated(file).map((x) => x.path), file] : [file];
      const results = [];
      for (const t of targets) results.push(await repair({ file: t, lockTimeoutMs: intFlag('lock-timeout', f['lock-timeout'], 5000) }));
      if (json) printJson(results.length === 1 ? results[0] : results);
      else printText(results.map(formatRepair).join(''));
      return 0;
    }
    const p = progress('reading');
    const s = await stats({ file, all: !!f.all, onProgress: p });
    if (p) process.stderr.write('\r\x1b[K');
    if (json) printJson(s);
    else printText(formatStats(s));
    return 0;
  } catch (err) {
    if (err instanceof IntegrityError) {
      printError(`telemetry-sink ${cmd}: ${err.message} [${err.code}]\n`);
      return cmd === 'repair' && err.code !== 'ERR_NOT_FOUND' && err.code !== 'ERR_READ' ? 1 : 2;
    }
    throw err;
  }
}
