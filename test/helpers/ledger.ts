/**
 * Counts events across everything a repair may have touched: live file, rotated files, an archive
 * folder (where a test's retention moves files instead of deleting them) and quarantine records —
 * including complete events glued behind a torn fragment inside a quarantined line (writers that do
 * not fence, like the seed's Python ones, can append right after a killed writer's fragment).
 * Deliberately independent of the code under test: it parses with JSON.parse and nothing else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Ledger {
  /** `${sid}#${seq}` → how many times the event is present. */
  counts: Map<string, number>;
  /** Files read, by kind. */
  files: { events: string[]; quarantine: string[] };
}

const key = (o: { sid?: unknown; seq?: unknown }): string | undefined => (typeof o.sid === 'string' && typeof o.seq === 'number' ? `${o.sid}#${o.seq}` : undefined);

function eachLine(buf: Buffer, fn: (b: Buffer) => void): void {
  let start = 0;
  while (start < buf.length) {
    let nl = buf.indexOf(10, start);
    if (nl === -1) nl = buf.length;
    fn(buf.subarray(start, nl));
    start = nl + 1;
  }
}

/** Every complete event inside a damaged line's bytes (a line may hold a fragment, then a whole event). */
function embeddedEvents(text: string): string[] {
  const out: string[] = [];
  for (let i = text.indexOf('{"v":'); i !== -1; i = text.indexOf('{"v":', i + 1)) {
    try {
      const k = key(JSON.parse(text.slice(i)) as { sid?: unknown; seq?: unknown });
      if (k) out.push(k);
      break; // the rest of the line was this event
    } catch {
      /* a fragment: try the next start */
    }
  }
  return out;
}

function add(l: Ledger, k: string | undefined): void {
  if (k) l.counts.set(k, (l.counts.get(k) ?? 0) + 1);
}

/** Lists the family of `live` in its folder (plus `extraDirs`, e.g. an archive) and counts every event. */
export function ledger(live: string, extraDirs: string[] = []): Ledger {
  const base = path.basename(live);
  const ext = path.extname(base);
  const stem = ext ? base.slice(0, -ext.length) : base;
  const l: Ledger = { counts: new Map(), files: { events: [], quarantine: [] } };
  for (const dir of [path.dirname(live), ...extraDirs]) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      if (!name.startsWith(stem + '.') && name !== base) continue;
      const p = path.join(dir, name);
      if (!fs.statSync(p).isFile()) continue;
      if (/\.quarantine-/.test(name)) l.files.quarantine.push(p);
      else if (name.endsWith(ext) && !name.endsWith('.lock')) l.files.events.push(p);
    }
  }
  for (const f of l.files.events) {
    eachLine(fs.readFileSync(f), (b) => {
      const s = b.toString('utf8');
      try {
        add(l, key(JSON.parse(s) as { sid?: unknown; seq?: unknown }));
      } catch {
        for (const k of embeddedEvents(s)) add(l, k);
      }
    });
  }
  for (const q of l.files.quarantine) {
    eachLine(fs.readFileSync(q), (b) => {
      if (!b.length) return;
      const rec = JSON.parse(b.toString('utf8')) as { text?: string; base64?: string };
      const text = rec.text ?? Buffer.from(rec.base64 ?? '', 'base64').toString('utf8');
      for (const k of embeddedEvents(text)) add(l, k);
    });
  }
  return l;
}

/** Problems with `want` (sid → seqs expected exactly once) and any event present more than once. */
export function ledgerProblems(l: Ledger, want: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [k, c] of l.counts) if (c > 1) out.push(`${k} present ${c} times`);
  for (const [sid, n] of want) {
    const missing: number[] = [];
    for (let s = 0; s < n; s++) if (!l.counts.has(`${sid}#${s}`)) missing.push(s);
    if (missing.length) out.push(`${sid}: ${missing.length} of ${n} missing (first ${missing.slice(0, 5).join(', ')})`);
  }
  return out;
}

/** Resolves once process `pid` holds `file` open (read from /proc: a deterministic "it got this far"). */
export async function waitUntilOpen(pid: number, file: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  const real = fs.realpathSync(file);
  for (;;) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      /* not started yet, or gone */
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === real) return;
      } catch {
        /* closed meanwhile */
      }
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`process ${pid} did not open ${file} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Sends SIGSTOP and resolves once the kernel shows the process stopped (a signal is asynchronous). */
export async function stopProcess(pid: number, timeoutMs = 20_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const t0 = Date.now();
  for (;;) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'T' || state === 't') return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`process ${pid} did not stop (state ${state})`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
