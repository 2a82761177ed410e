/**
 * The one backoff policy between non-blocking lock attempts, for every taker of the lock: the
 * appender's drain, flushSync and rotateNow (liveFile.ts), and the readers' and repair's lockAll.
 * Holds last tens of µs, so a few yields usually suffice; then 1 ms; then 1–4 ms with jitter so
 * waiters do not retry in lockstep. Callers stop at their own deadline.
 */
export function backoffMs(tries: number): number {
  if (tries <= 4) return 0;
  if (tries <= 20) return 1;
  return 1 + Math.floor(Math.random() * 4);
}

/** Waits before attempt number `tries + 1` (0 ms: one turn of the event loop). */
export function backoff(tries: number): Promise<void> {
  const ms = backoffMs(tries);
  return new Promise((r) => (ms === 0 ? setImmediate(r) : setTimeout(r, ms)));
}

/** The same policy blocking the thread (process exit and CLI tools only); 0 ms retries at once. */
export function backoffSync(tries: number): void {
  const ms = backoffMs(tries);
  if (ms > 0) sleepSync(ms);
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (used only by the synchronous exit path and CLI tools). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
