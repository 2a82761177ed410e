/**
 * telemetrySink.ship.* settings (pure; mirrors package.json). Shipping is off while the URL is empty.
 * The password is never a setting: it lives in VS Code's SecretStorage.
 */
import { IDENTITY_MODES, isOneOf, type IdentityMode } from '../lists';

export { IDENTITY_MODES, type IdentityMode };

export interface ShipSettings {
  url: string;
  database: string;
  table: string;
  user: string;
  identity: IdentityMode;
}

export const SHIP_DEFAULTS: ShipSettings = { url: '', database: 'telemetry', table: 'events', user: 'default', identity: 'hashed' };

/** `get` reads a key under telemetrySink.ship (e.g. "clickhouse.url"). Bad values fall back with a warning. */
export function parseShipSettings(get: (key: string) => unknown): { settings: ShipSettings; warnings: string[] } {
  const warnings: string[] = [];
  const str = (key: string, d: string): string => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (typeof v === 'string') return v.trim() || d;
    warnings.push(`telemetrySink.ship.${key}: expected a string; using ${JSON.stringify(d)}`);
    return d;
  };
  const identity = str('identity', SHIP_DEFAULTS.identity);
  const okIdentity = isOneOf(IDENTITY_MODES, identity);
  if (!okIdentity) warnings.push(`telemetrySink.ship.identity: expected one of ${IDENTITY_MODES.join(', ')}; using hashed`);
  return {
    settings: {
      url: str('clickhouse.url', SHIP_DEFAULTS.url),
      database: str('clickhouse.database', SHIP_DEFAULTS.database),
      table: str('clickhouse.table', SHIP_DEFAULTS.table),
      user: str('clickhouse.user', SHIP_DEFAULTS.user),
      identity: okIdentity ? (identity as IdentityMode) : 'hashed',
    },
    warnings,
  };
}
