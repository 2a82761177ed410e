/**
 * Strict readers for the statistics cache: every value is checked before it is used, and anything
 * the encoder cannot have written throws CacheFormatError (the cache is then ignored and rebuilt).
 */
export class CacheFormatError extends Error {
  readonly code = 'ERR_CACHE_FORMAT';
}

export function fail(what: string): never {
  throw new CacheFormatError(`statistics cache: ${what}`);
}

/** A safe integer ≥ 0. */
export function nat(x: unknown, what = 'count'): number {
  if (!Number.isSafeInteger(x) || (x as number) < 0) fail(`bad ${what}`);
  return x as number;
}

/** A finite number ≥ 0. */
export function num(x: unknown, what = 'number'): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) fail(`bad ${what}`);
  return x;
}

/** A safe integer, any sign (instants, bucket indices). */
export function int(x: unknown, what = 'integer'): number {
  if (!Number.isSafeInteger(x)) fail(`bad ${what}`);
  return x as number;
}

export function str(x: unknown, what = 'string'): string {
  if (typeof x !== 'string' || x.length > 1024) fail(`bad ${what}`);
  return x;
}

export function arr(x: unknown, what = 'array', len?: number): unknown[] {
  if (!Array.isArray(x) || (len !== undefined && x.length !== len)) fail(`bad ${what}`);
  return x;
}

/** Guards a decoder: any TypeError from a nested decode becomes a CacheFormatError. */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CacheFormatError) throw err;
    return fail(`${what}: ${(err as Error).message}`);
  }
}
