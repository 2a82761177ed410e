import * as vscode from 'vscode';
import { PASSWORD_KEY } from '../ship/controller';

/**
 * Telemetry Sink: Set ClickHouse Password — stored in VS Code's SecretStorage (the OS keychain where
 * there is one), never in settings. An empty entry removes it. Scripts may pass the password as an
 * argument instead of being prompted.
 */
export async function setClickhousePassword(secrets: vscode.SecretStorage, given?: unknown): Promise<boolean> {
  const pw =
    typeof given === 'string'
      ? given
      : await vscode.window.showInputBox({ title: 'ClickHouse password for shipping', prompt: 'Stored in VS Code SecretStorage, never in settings. Leave empty to remove it.', password: true, ignoreFocusOut: true });
  if (pw === undefined) return false;
  if (pw === '') await secrets.delete(PASSWORD_KEY);
  else await secrets.store(PASSWORD_KEY, pw);
  void vscode.window.showInformationMessage(pw === '' ? 'Telemetry Sink: ClickHouse password removed.' : 'Telemetry Sink: ClickHouse password saved.');
  return true;
}
