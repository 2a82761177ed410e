/**
 * An independent reader for tests: parses every line of one or more files, checks crcs with the
 * table implementation (not the sink's), and indexes (sid, seq). Deliberately not the verifier,
 * so the stress tests do not trust the code they test.
 */
import * as fs from 'node:fs';
import { crc32Table } from '../../src/core/sink/crc32';

export interface Analysis {
  lines: number;
  valid: Array<{ sid: string; seq: number; type: string; data: Record<string, unknown> }>;
  invalid: Array<{ file: string; line: number; text: string }>;
  crcBad: number;
  bySid: Map<string, number[]>;
}

export function analyze(files: string[]): Analysis {
  const a: Analysis = { lines: 0, valid: [], invalid: [], crcBad: 0, bySid: new Map() };
  for (const file of files) {
    const text = fs.readFileSync(file);
    let start = 0;
    let lineNo = 0;
    while (start < text.length) {
      let nl = text.indexOf(10, start);
      if (nl === -1) nl = text.length;
      const b = text.subarray(start, nl);
      lineNo++;
      a.lines++;
      start = nl + 1;
      let o: { sid?: unknown; seq?: unknown; type?: unknown; data?: unknown; crc?: unknown };
      try {
        o = JSON.parse(b.toString('utf8'));
      } catch {
        a.invalid.push({ file, line: lineNo, text: b.toString('utf8').slice(0, 120) });
        continue;
      }
      if (typeof o.sid !== 'string' || typeof o.seq !== 'number') {
        a.invalid.push({ file, line: lineNo, text: b.toString('utf8').slice(0, 120) });
        continue;
      }
      if (typeof o.crc === 'string') {
        const s = b.toString('utf8');
        const body = s.slice(0, s.length - 18) + '}';
        if (crc32Table(body).toString(16).padStart(8, '0') !== o.crc) a.crcBad++;
      }
      a.valid.push({ sid: o.sid, seq: o.seq, type: String(o.type), data: (o.data ?? {}) as Record<string, unknown> });
      let arr = a.bySid.get(o.sid);
      if (!arr) a.bySid.set(o.sid, (arr = []));
      arr.push(o.seq);
    }
  }
  return a;
}

/** Seqs of one session: sorted, with duplicates and the missing ones in [0, max]. */
export function seqReport(seqs: number[]): { count: number; max: number; duplicates: number[]; missing: number[] } {
  const sorted = [...seqs].sort((x, y) => x - y);
  const duplicates: number[] = [];
  const missing: number[] = [];
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) duplicates.push(sorted[i]!);
  const set = new Set(sorted);
  const max = sorted.length ? sorted[sorted.length - 1]! : -1;
  for (let s = 0; s <= max; s++) if (!set.has(s)) missing.push(s);
  return { count: sorted.length, max, duplicates, missing };
}
