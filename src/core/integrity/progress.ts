/** Progress text for long reads (verify, stats): amount done, speed and time left. */

/** Files at least this large get speed and time left in their progress (smaller ones finish first). */
export const DETAILED_PROGRESS_BYTES = 20e6;

function duration(s: number): string {
  if (s < 1) return '<1 s';
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** "120 of 640 MB · 145 MB/s · ~4 s left" (speed and time left only past 20 MB and once measurable). */
export function progressText(done: number, total: number, elapsedMs: number): string {
  const amount = `${(done / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB`;
  if (total < DETAILED_PROGRESS_BYTES || elapsedMs < 200 || done <= 0) return amount;
  const rate = done / (elapsedMs / 1000);
  return `${amount} · ${(rate / 1e6).toFixed(0)} MB/s · ~${duration((total - done) / rate)} left`;
}
