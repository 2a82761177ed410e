import * as vscode from 'vscode';
import type { CallerIdentity } from '../ingest/caller';
import type { Features } from '../lazy/features';
import { bundle } from '../lazy/load';
import { openEventsFile } from './files';
import { revealEventsFolder } from './revealFolder';
import { copyEventsFilePath } from './copyPath';
import { rotateNow } from './rotate';
import { setPaused } from './pause';
import { recordCommand } from './record';
import { setClickhousePassword } from './setClickhousePassword';

/**
 * Registers every palette command (package.json's contributes.commands). Verify, Repair, Show
 * Statistics and New HTTP Token load their bundle (src/lazy/) when first run; a bundle that fails to
 * load is reported, not thrown. Returns the in-host tests' hook that replaces Repair's confirmation
 * dialog (undefined restores it; it returns how often it was asked).
 */
export function registerCommands(context: vscode.ExtensionContext, f: Features, callers: CallerIdentity): (answer: boolean | undefined) => () => number {
  const d = f.deps;
  let confirmRepair: ((file: string) => Promise<boolean>) | undefined; // undefined: Repair's own dialog
  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  const lazy = (id: string, fn: (...args: unknown[]) => unknown): void => reg(id, (...args) => f.guard(id, () => fn(...args), true));
  lazy('telemetrySink.verify', () => bundle('integrity').verifyCommand(d));
  lazy('telemetrySink.verifyDeep', () => bundle('integrity').verifyCommand(d, { deep: true }));
  // Arguments are ignored: Repair always asks first, whoever runs it.
  lazy('telemetrySink.repair', () => bundle('integrity').repairCommand(d, confirmRepair));
  lazy('telemetrySink.showStatistics', (range) => bundle('insights').showStatistics(d, range));
  lazy('telemetrySink.statsCsv', (action, table, range) => bundle('insights').statsCsv(d, action, table, range));
  reg('telemetrySink.openEventsFile', () => openEventsFile(d));
  reg('telemetrySink.revealEventsFolder', () => revealEventsFolder(d));
  reg('telemetrySink.rotateNow', () => rotateNow(d));
  reg('telemetrySink.pause', () => setPaused(d, true, callers.caller()));
  reg('telemetrySink.resume', () => setPaused(d, false, callers.caller()));
  reg('telemetrySink.copyEventsFilePath', () => copyEventsFilePath(d));
  reg('telemetrySink.record', (type, data) => recordCommand(d, callers, type, data));
  reg('telemetrySink.newHttpToken', () => {
    const caller = callers.caller(); // from this synchronous stack: who ran the command
    return f.guard('New HTTP Token', () => f.http().newToken(caller), true);
  });
  reg('telemetrySink.ship.setPassword', (pw?: unknown) => setClickhousePassword(context.secrets, pw));
  return (answer) => {
    let asked = 0;
    confirmRepair = answer === undefined ? undefined : async () => (asked++, answer);
    return () => asked;
  };
}
