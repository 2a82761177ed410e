import * as vscode from 'vscode';
import type { CommandDeps } from './deps';
import { verify, VerifyReport } from '../core/integrity/verify';
import { formatVerify } from '../core/integrity/format';
import { progressText } from '../core/integrity/progress';

export interface VerifyCommandOptions {
  /** Parse every line instead of the fast scanner (the "Verify Integrity (Deep)" command). */
  deep?: boolean;
}

/**
 * Telemetry Sink: Verify Integrity (and its Deep variant) — a cancellable progress notification
 * with speed and time left on large files, then the result, naming the mode, with actions.
 */
export async function verifyCommand(d: CommandDeps, opts: VerifyCommandOptions = {}): Promise<VerifyReport | undefined> {
  d.flushCollectors();
  await d.rt.sink?.flush();
  const file = d.rt.file;
  const deep = opts.deep === true;
  const cts = new AbortController();
  let report: VerifyReport;
  try {
    report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Telemetry Sink: verifying${deep ? ' (deep)' : ''}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => cts.abort());
        const t0 = Date.now();
        let last = 0;
        return verify({
          file,
          all: true,
          deep,
          signal: cts.signal,
          onProgress: (done, total) => {
            const pct = total ? (done / total) * 100 : 100;
            if (pct - last >= 2) {
              progress.report({ increment: pct - last, message: progressText(done, total, Date.now() - t0) });
              last = pct;
            }
          },
        });
      },
    );
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_CANCELLED') {
      void vscode.window.showInformationMessage('Telemetry Sink: verification cancelled.');
      return undefined;
    }
    d.rt.log.error(`verify failed: ${(err as Error).message}`);
    void vscode.window.showErrorMessage(`Telemetry Sink: could not verify ${file}: ${(err as Error).message}`);
    return undefined;
  }
  showResult(d, report);
  return report;
}

function showResult(d: CommandDeps, report: VerifyReport): void {
  const text = formatVerify(report);
  const mode = `${report.mode} mode`;
  d.rt.log.info(`verify (${mode}): ${report.clean ? 'clean' : `${report.problemsTotal} problems`} (${report.totals.lines} lines)`);
  const t = report.totals;
  const msg = report.clean
    ? `Telemetry Sink: clean (${mode}) — ${t.lines.toLocaleString('en-US')} lines in ${report.files.length} file(s), ${report.sessions} sessions, nothing lost.`
    : `Telemetry Sink: ${report.problemsTotal} problem(s) (${mode}) — ${t.invalid} damaged line(s), ${t.lost} lost, ${t.duplicates} duplicate(s), ${t.torn} torn.`;
  const actions = report.clean ? ['Show Report', 'Open File'] : ['Show Report', 'Repair…', 'Open File'];
  const show = report.clean ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
  void show(msg, ...actions).then(async (pick) => {
    if (pick === 'Show Report') await d.reports.show(`verify-${Date.now()}.txt`, text);
    else if (pick === 'Repair…') await vscode.commands.executeCommand('telemetrySink.repair');
    else if (pick === 'Open File') await vscode.commands.executeCommand('telemetrySink.openEventsFile');
  });
}
