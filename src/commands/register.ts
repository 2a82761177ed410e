import * as vscode from 'vscode';
import type { CommandDeps } from './deps';
import type { CallerIdentity } from '../ingest/caller';
import type { HttpIngest } from '../ingest/httpIngest';
import { verifyCommand } from './verify';
import { askToRepair, repairCommand } from './repair';
import { openEventsFile } from './files';
import { revealEventsFolder } from './revealFolder';
import { copyEventsFilePath } from './copyPath';
import { rotateNow } from './rotate';
import { setPaused } from './pause';
import { recordCommand } from './record';
import { showStatistics, statsCsv } from './showStatistics';
import { setClickhousePassword } from './setClickhousePassword';

/**
 * Registers every palette command (package.json's contributes.commands). Returns the in-host tests'
 * hook that replaces Repair's confirmation dialog (undefined restores it; it returns how often it
 * was asked).
 */
export function registerCommands(context: vscode.ExtensionContext, d: CommandDeps, callers: CallerIdentity, http: HttpIngest): (answer: boolean | undefined) => () => number {
  let confirmRepair = askToRepair; // replaced only through the returned test hook
  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  reg('telemetrySink.verify', () => verifyCommand(d));
  reg('telemetrySink.verifyDeep', () => verifyCommand(d, { deep: true }));
  // Arguments are ignored: Repair always asks first, whoever runs it.
  reg('telemetrySink.repair', () => repairCommand(d, confirmRepair));
  reg('telemetrySink.openEventsFile', () => openEventsFile(d));
  reg('telemetrySink.revealEventsFolder', () => revealEventsFolder(d));
  reg('telemetrySink.showStatistics', (range) => showStatistics(d, range));
  reg('telemetrySink.statsCsv', (action, table, range) => statsCsv(d, action, table, range));
  reg('telemetrySink.rotateNow', () => rotateNow(d));
  reg('telemetrySink.pause', () => setPaused(d, true, callers.caller()));
  reg('telemetrySink.resume', () => setPaused(d, false, callers.caller()));
  reg('telemetrySink.copyEventsFilePath', () => copyEventsFilePath(d));
  reg('telemetrySink.record', (type, data) => recordCommand(d, callers, type, data));
  reg('telemetrySink.newHttpToken', () => http.newToken(callers.caller()));
  reg('telemetrySink.ship.setPassword', (pw?: unknown) => setClickhousePassword(context.secrets, pw));
  return (answer) => {
    let asked = 0;
    confirmRepair = answer === undefined ? askToRepair : async () => (asked++, answer);
    return () => asked;
  };
}
