/**
 * The CLI's text-output boundary: strings from the events file (types, sources, excerpts, models)
 * must not drive the terminal (OSC 52 writes the clipboard, CSI moves the cursor and erases lines).
 * Every control character but newline and tab — C0, DEL and C1 — is shown as \xNN. `--json` output
 * does not come through here: it stays exact (JSON.stringify escapes C0 itself).
 */
export function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Human-readable output on stdout. */
export function printText(text: string): void {
  process.stdout.write(escapeControls(text));
}

/** A message on stderr (it may quote file or input content). */
export function printError(text: string): void {
  process.stderr.write(escapeControls(text));
}
