/**
 * The one place the status bar, Show Statistics and /metrics read shipping state from, without
 * knowing the controller. Cheap: no shipper code is loaded here. Module state: it lives in
 * dist/extension.js only; the lazily loaded bundles get `shipStatus` / the line passed in.
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
