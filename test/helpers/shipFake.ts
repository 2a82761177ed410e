/** A ship pass host without a server: the batches' rows are kept, problems and resets recorded. */
import { newCursor, type Cursor } from '../../src/core/ship/cursor';
import { Batcher } from '../../src/core/ship/batch';
import type { PassHost, Problem } from '../../src/core/ship/pass';
import { FastRows, parseRow } from '../../src/core/ship/rows';

export interface Fake {
  host: PassHost;
  rows: string[];
  seqs: number[];
  problems: Problem[];
  cursor: Cursor;
}

export function fakeHost(file: string, o: { onSend?: () => Promise<void>; batchRows?: number; fast?: boolean } = {}): Fake {
  const f = { rows: [] as string[], seqs: [] as number[], problems: [] as Problem[], cursor: newCursor(file, 'fake') } as Fake;
  const batcher = new Batcher(
    {
      send: async (body) => {
        await o.onSend?.();
        for (const row of body.toString('utf8').split('\n').filter(Boolean)) {
          f.rows.push(row);
          f.seqs.push(Number(parseRow(row + '\n').seq));
        }
      },
      commit: (b) => {
        for (const m of b.marks.values()) Object.assign(m.entry, { offset: m.offset, line: m.line });
      },
    },
    o.batchRows ?? 1000,
    1 << 20,
  );
  f.host = {
    file,
    cursor: f.cursor,
    lockTimeoutMs: 2000,
    origin: 'o',
    batcher,
    fast: o.fast === false ? undefined : new FastRows(),
    saveCursor: () => undefined,
    gaps: () => undefined,
    reshipped: () => undefined,
    problem: (p) => void f.problems.push(p),
    planned: () => undefined,
  };
  return f;
}
