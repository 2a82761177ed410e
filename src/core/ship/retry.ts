import { ShipError } from './errors';

export interface RetryPolicy {
  /** First wait (default 250 ms); doubles per attempt up to maxMs. */
  baseMs: number;
  /** Cap of one wait (default 30 s). */
  maxMs: number;
  /** Give up (ERR_GAVE_UP) after failing this long on one batch; Infinity = never. */
  giveUpMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 250, maxMs: 30_000, giveUpMs: Infinity };

/**
 * Capped exponential backoff with "equal jitter": a wait between half and all of
 * min(maxMs, baseMs·2^attempt), so shippers that lost the server together do not return together,
 * and no wait is shorter than half its step.
 */
export function backoffMs(attempt: number, p: Pick<RetryPolicy, 'baseMs' | 'maxMs'>, rand: () => number = Math.random): number {
  const step = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(attempt, 40));
  return Math.round(step / 2 + (rand() * step) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ShipError('ERR_CANCELLED', 'cancelled'));
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(t);
      reject(new ShipError('ERR_CANCELLED', 'cancelled'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds. Retryable ShipErrors wait and try again (a reset kept-alive socket is
 * retried at once, uncounted); anything else is thrown. `onRetry` sees each counted failure.
 */
export async function withRetry<T>(fn: () => Promise<T>, p: RetryPolicy, signal: AbortSignal | undefined, onRetry: (err: ShipError, attempt: number, waitMs: number) => void): Promise<T> {
  const t0 = Date.now();
  let attempt = 0;
  let quickRetries = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ShipError) || !err.retryable || signal?.aborted) throw signal?.aborted ? new ShipError('ERR_CANCELLED', 'cancelled') : err;
      if ((err as { reusedSocket?: boolean }).reusedSocket && quickRetries++ < 2) continue;
      const elapsed = Date.now() - t0;
      if (elapsed >= p.giveUpMs) {
        const g = new ShipError('ERR_GAVE_UP', `gave up after ${(elapsed / 1000).toFixed(1)} s of retries: ${err.message}`, err);
        g.status = err.status;
        g.chCode = err.chCode;
        throw g;
      }
      const wait = Math.min(backoffMs(attempt++, p), Math.max(0, p.giveUpMs - elapsed));
      onRetry(err, attempt, wait);
      await sleep(wait, signal);
    }
  }
}
