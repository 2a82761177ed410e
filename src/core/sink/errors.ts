/**
 * Errors with stable codes. Callers (CLI, extension, scripts) branch on `code`, never on message text.
 */
export type SinkErrorCode =
  | 'ERR_INVALID_EVENT'
  | 'ERR_LOCK_TIMEOUT'
  | 'ERR_LOCK_UNAVAILABLE'
  | 'ERR_LOCK_COMPROMISED'
  | 'ERR_OPEN'
  | 'ERR_WRITE'
  | 'ERR_FSYNC'
  | 'ERR_ROTATE'
  | 'ERR_UNFLUSHED'
  /** The events path (or a file beside it) is a FIFO, socket, device, folder or symbolic link. */
  | 'ERR_NOT_REGULAR'
  /** The events folder (or a file in it) can be changed by another local user: see safefs.ts. */
  | 'ERR_UNSAFE_DIR';

export class SinkError extends Error {
  readonly code: SinkErrorCode;
  /** errno-style code of the underlying system error (ENOSPC, EACCES, …), when there is one. */
  readonly sysCode?: string;
  constructor(code: SinkErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'SinkError';
    this.code = code;
    const sys = (cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof sys === 'string') this.sysCode = sys;
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

export function errnoCode(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
