/**
 * Errors of the shipper, with stable codes (the CLI, the extension and scripts branch on `code`).
 * `retryable` tells the batch loop whether waiting and sending again can help.
 */
export type ShipErrorCode =
  | 'ERR_SHIP_CONFIG'
  | 'ERR_SHIP_BUSY'
  | 'ERR_SHIP_LOCK_LOST'
  | 'ERR_CURSOR_CORRUPT'
  | 'ERR_CURSOR_WRITE'
  | 'ERR_UNSAFE_PATH'
  | 'ERR_CLICKHOUSE'
  | 'ERR_SCHEMA'
  | 'ERR_GAVE_UP'
  | 'ERR_CANCELLED'
  | 'ERR_READ'
  /** A repair rewrote the set while a pass read it (or is still running): the pass is run again. */
  | 'ERR_CHANGED';

export class ShipError extends Error {
  readonly code: ShipErrorCode;
  /** errno-style code of an underlying system error (ECONNREFUSED, EACCES, …). */
  readonly sysCode?: string;
  /** HTTP status and ClickHouse error code (`Code: N` in the body) of a server answer. */
  status?: number;
  chCode?: number;
  retryable = false;
  constructor(code: ShipErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'ShipError';
    this.code = code;
    const sys = cause instanceof ShipError ? cause.sysCode : (cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof sys === 'string') this.sysCode = sys;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

/** One line for logs and the status bar: `ERR_CLICKHOUSE (HTTP 500, Code 252): …`. */
export function describeShipError(err: unknown): { code: string; message: string } {
  if (err instanceof ShipError) {
    const bits = [err.sysCode, err.status !== undefined ? `HTTP ${err.status}` : undefined, err.chCode !== undefined ? `Code ${err.chCode}` : undefined].filter(Boolean);
    return { code: err.code, message: bits.length ? `${err.message} (${bits.join(', ')})` : err.message };
  }
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'ERR_INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err) };
}
