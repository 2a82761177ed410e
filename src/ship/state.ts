/**
 * The one place the status bar and Show Statistics read shipping state from (one line each), without
 * knowing the controller. Cheap: no shipper code is loaded here.
 */
import { ShipStatus, statusLine } from '../core/ship/status';

let source: (() => ShipStatus | undefined) | undefined;

export function setShipStatusSource(s: (() => ShipStatus | undefined) | undefined): void {
  source = s;
}

export function shipStatus(): ShipStatus | undefined {
  return source?.();
}

/** "ClickHouse …: shipped up to …, N events behind; last error …", or undefined while shipping is off. */
export function shipStatusLine(): string | undefined {
  const s = shipStatus();
  return s ? statusLine(s) : undefined;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Adds the shipping line to the statistics page's HTML (just before </body>). */
export function withShipLine(html: string): string {
  const line = shipStatusLine();
  return line ? html.replace(/<\/body>/, `<p class="muted">${esc(line)}</p></body>`) : html;
}
