/**
 * Activation as VS Code measures it, read inside the extension host from VS Code's own performance
 * marks (its extension host marks `code/extHost/willLoadExtensionCode/<id>` and `didLoadExtensionCode`
 * around loading the main module, `willActivateExtension` / `didActivateExtension` around calling
 * activate() and awaiting its result). "Developer: Show Running Extensions" shows the sum of its
 * codeLoadingTime and activateCallTime, taken with Date.now() at (almost) the same points.
 * The marks are whole milliseconds. No vscode import: the probe of `npm run bench:startup` and the
 * in-host suite both use this.
 */
export interface ActivationTimes {
  /** Loading the main module (read, compile, run its top level). */
  loadMs: number;
  /** Calling activate() until its result resolved. */
  activateMs: number;
  /** loadMs + activateMs: the figure "Show Running Extensions" reports. */
  totalMs: number;
}

interface Mark {
  name: string;
  startTime: number;
}

function marks(): Mark[] {
  const perf = (globalThis as { MonacoPerformanceMarks?: { getMarks(): Mark[] } }).MonacoPerformanceMarks;
  return perf ? perf.getMarks() : [];
}

/** The times of extension `id` (case-insensitive), or undefined while it has not finished activating. */
export function activationTimes(id: string): ActivationTimes | undefined {
  const at = new Map<string, number>();
  const want = id.toLowerCase();
  for (const m of marks()) {
    const hit = /^code\/extHost\/(willLoadExtensionCode|didLoadExtensionCode|willActivateExtension|didActivateExtension)\/(.+)$/.exec(m.name);
    if (hit && hit[2]!.toLowerCase() === want) at.set(hit[1]!, m.startTime);
  }
  const [wl, dl, wa, da] = ['willLoadExtensionCode', 'didLoadExtensionCode', 'willActivateExtension', 'didActivateExtension'].map((k) => at.get(k));
  if (wl === undefined || dl === undefined || wa === undefined || da === undefined) return undefined;
  return { loadMs: dl - wl, activateMs: da - wa, totalMs: dl - wl + (da - wa) };
}

/** Waits (polling) until every extension in `ids` has activated; undefined entries for those that did not in time. */
export async function waitForActivationTimes(ids: string[], timeoutMs: number): Promise<Array<ActivationTimes | undefined>> {
  const t0 = Date.now();
  for (;;) {
    const got = ids.map(activationTimes);
    if (got.every(Boolean) || Date.now() - t0 > timeoutMs) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const BASELINE_ID = 'local-telemetry-sink.empty-fixture';

/** Median and 90th percentile (nearest rank) of a list of figures. */
export function medianP90(xs: number[]): { median: number; p90: number } {
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median: s.length ? mid : NaN, p90: s.length ? rank(0.9) : NaN };
}
