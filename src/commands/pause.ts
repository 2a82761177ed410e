import * as vscode from 'vscode';
import type { CommandDeps } from './deps';

/**
 * Telemetry Sink: Pause Capture / Resume Capture. `caller`: the extension that ran the command
 * (caller.ts), so sink.paused says who paused instead of blaming the user.
 */
export async function setPaused(d: CommandDeps, paused: boolean, caller?: string): Promise<void> {
  if (paused) d.flushCollectors();
  d.rt.setUserPaused(paused, caller ? `api:${caller}` : 'user');
  await vscode.commands.executeCommand('setContext', 'telemetrySink.paused', paused);
  d.status.update();
}
