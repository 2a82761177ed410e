/**
 * Startup figures read inside the extension host from VS Code's own performance marks: its
 * extension host marks `code/extHost/willLoadExtensionCode/<id>` and `didLoadExtensionCode/<id>`
 * around requiring an extension's main module, and `didActivateExtension/<id>` once activate()'s
 * result resolved. (The will/didActivateExtension pair is no measure of one extension's activate():
 * extensions activated together resolve together, so an empty extension shows the same span as a
 * busy one. "Developer: Show Running Extensions" adds VS Code's own codeLoadingTime and the time of
 * the synchronous activate() call; `npm run bench:startup` reads that view.) Marks are whole ms.
 * No vscode import: the probe of bench:startup and the in-host suite both use this.
 */
interface Mark {
  name: string;
  startTime: number;
}

function marks(): Mark[] {
  const perf = (globalThis as { MonacoPerformanceMarks?: { getMarks(): Mark[] } }).MonacoPerformanceMarks;
  return perf ? perf.getMarks() : [];
}

/** Milliseconds VS Code spent loading extension `id`'s main module, once it has activated (else undefined). */
export function codeLoadMs(id: string): number | undefined {
  const at = new Map<string, number>();
  const want = id.toLowerCase();
  for (const m of marks()) {
    const hit = /^code\/extHost\/(willLoadExtensionCode|didLoadExtensionCode|didActivateExtension)\/(.+)$/.exec(m.name);
    if (hit && hit[2]!.toLowerCase() === want) at.set(hit[1]!, m.startTime);
  }
  const [will, did, active] = ['willLoadExtensionCode', 'didLoadExtensionCode', 'didActivateExtension'].map((k) => at.get(k));
  return will === undefined || did === undefined || active === undefined ? undefined : did - will;
}

/** Waits (polling) until every extension in `ids` has activated; undefined for those that did not in time. */
export async function waitForCodeLoadMs(ids: string[], timeoutMs: number): Promise<Array<number | undefined>> {
  const t0 = Date.now();
  for (;;) {
    const got = ids.map(codeLoadMs);
    if (got.every((x) => x !== undefined) || Date.now() - t0 > timeoutMs) return got;
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
