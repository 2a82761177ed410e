/**
 * The CLI's text-output boundary: strings from the events file (types, sources, excerpts, models)
 * must not drive the terminal (OSC 52 writes the clipboard, CSI moves the cursor and erases lines).
 * Every control character but newline and tab — C0, DEL and C1 — is shown as \xNN. `--json` output
 * stays exact: JSON.stringify escapes C0 itself, printJson escapes DEL and C1 as \u00XX.
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

/**
 * `--json` output on stdout. JSON.stringify leaves DEL and C1 raw (U+009B is CSI, U+009D OSC to a
 * terminal that reads C1 in UTF-8); outside strings JSON has none, so escaping them as \u00XX
 * keeps the text valid and the parsed values exact.
 */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2).replace(/[\u007f-\u009f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '\n');
}
