/**
 * "N events behind" as a window that does not ship can know it: the bytes of the set past the
 * cursor's offsets, divided by the mean line size shipped so far (an estimate).
 */
import * as fs from 'node:fs';
import { listRotated } from '../sink/rotation';
import type { Cursor } from './cursor';

export function estimateBehind(file: string, c: Cursor | undefined): { bytes: number; events: number } {
  let bytes = 0;
  for (const f of [...listRotated(file).map((r) => r.path), file]) {
    const st = fs.statSync(f, { bigint: true, throwIfNoEntry: false });
    if (!st || !st.isFile()) continue;
    const e = c?.files.find((x) => x.dev === String(st.dev) && x.ino === String(st.ino));
    bytes += Math.max(0, Number(st.size) - (e?.offset ?? 0));
  }
  const lines = c ? c.totals.shipped + c.totals.invalid : 0;
  const mean = c && lines > 0 && c.totals.bytes > 0 ? c.totals.bytes / lines : 300;
  return { bytes, events: Math.round(bytes / mean) };
}
