import * as vscode from 'vscode';
import type { Runtime } from '../runtime';
import type { AiFigures } from '../core/insights/report';
import { shipStatusLine } from '../ship/state';

/** capturing / paused / problem, events this session; tooltip with file, backend, lock-wait p99. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('telemetrySink.status', vscode.StatusBarAlignment.Right, 50);
  private readonly timer: NodeJS.Timeout;
  private readonly sub: vscode.Disposable;
  /** The state last shown, for tests and the log. */
  state: 'capturing' | 'paused' | 'problem' = 'capturing';
  /** The problems last shown. */
  problems: string[] = [];
  /** Other parts' problems to show (e.g. the HTTP ingest's port held by another process). */
  extraProblems: () => Array<string | undefined> = () => [];
  /** Today's AI figures once read (null: none yet; undefined: not read yet). */
  today: () => AiFigures | null | undefined = () => undefined;

  constructor(private readonly rt: Runtime) {
    this.item.name = 'Local Telemetry Sink';
    this.item.command = 'telemetrySink.showStatistics';
    this.sub = rt.onDidChange(() => this.update());
    this.timer = setInterval(() => this.update(), 2000);
    this.update();
    this.item.show();
  }

  update(): void {
    const rt = this.rt;
    const st = rt.stats();
    const problems: string[] = [];
    if (rt.openError) problems.push(`cannot open the events file (${rt.openError})`);
    if (st) {
      if (st.dropped.total) problems.push(`${st.dropped.total} events dropped`);
      if (st.lockTimeouts) problems.push(`${st.lockTimeouts} lock timeouts`);
      const io = st.errors.total - (st.errors.byCode.ERR_LOCK_TIMEOUT ?? 0);
      if (io) problems.push(`${io} I/O errors (last: ${st.errors.last?.code}${st.errors.last?.sysCode ? ' ' + st.errors.last.sysCode : ''})`);
    }
    for (const p of this.extraProblems()) if (p) problems.push(p);
    this.problems = problems;
    const n = thousands(rt.eventsThisSession);
    if (rt.paused) {
      this.state = 'paused';
      this.item.text = `$(debug-pause) Telemetry paused`;
      this.item.backgroundColor = undefined;
    } else if (problems.length) {
      this.state = 'problem';
      this.item.text = `$(warning) Telemetry ${n}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else {
      this.state = 'capturing';
      this.item.text = `$(pulse) Telemetry ${n}`;
      this.item.backgroundColor = undefined;
    }
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**Local Telemetry Sink** — ${this.state}${rt.paused ? ` (${rt.pauseReason})` : ''}\n\n`);
    md.appendMarkdown(`- file: \`${rt.file}\`\n`);
    if (st) {
      md.appendMarkdown(`- lock backend: ${st.backend} (${st.backendReason})\n`);
      md.appendMarkdown(`- events this session: ${n}; written ${thousands(st.written)}; queued ${st.queued.events}\n`);
      md.appendMarkdown(`- lock wait p99: ${st.lockWait.p99Ms} ms (max ${st.lockWait.maxMs} ms)\n`);
    }
    const today = todayLine(this.today());
    if (today) md.appendMarkdown(today + '\n');
    for (const p of problems) md.appendMarkdown(`- ⚠ ${p}\n`);
    const ship = shipStatusLine();
    if (ship) md.appendMarkdown(`- ${ship.replace(/[\\`*_[\]<>]/g, '\\$&')}\n`);
    md.appendMarkdown(`\nClick for statistics.`);
    this.item.tooltip = md;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}

/** The tooltip's line: today's accepted completions and acceptance rate, once known. */
function todayLine(t: AiFigures | null | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (t === null) return '- AI completions today: none yet';
  const rate = t.acceptanceRate === null ? 'n/a' : `${(t.acceptanceRate * 100).toFixed(1)}%`;
  return `- AI completions today: ${thousands(t.accepted + t.partiallyAccepted)} accepted · acceptance rate ${rate}`;
}

/** 12345 → "12,345", as toLocaleString('en-US') writes it; that one loads ICU (tens of ms on first use). */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
