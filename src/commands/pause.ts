import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/** Telemetry Sink: Pause Capture / Resume Capture */
export async function setPaused(d: CommandDeps, paused: boolean): Promise<void> {
  if (paused) d.flushCollectors();
  d.rt.setUserPaused(paused);
  await vscode.commands.executeCommand('setContext', 'telemetrySink.paused', paused);
  d.status.update();
}
