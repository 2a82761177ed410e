/**
 * When verify believes a `sink.dropped` notice. A sink writes its own drop notice (never a caller):
 * with the sink's default source — `vscode` in a window, `cli` for the CLI — while events from
 * outside callers carry `http` or `api:<id>`. The notice is written after the events it accounts
 * for, with the next seq, and names exactly the range it skipped:
 *
 *   trusted ⇔ source ∈ {vscode, cli}
 *           ∧ from_seq, to_seq are safe integers with 0 ≤ from_seq ≤ to_seq < the notice's own seq
 *             (so never past the session's highest seq)
 *           ∧ count = to_seq − from_seq + 1
 *           ∧ its range overlaps no other trusted notice of the session (checked at the end).
 *
 * Anything else is reported as `bad_drop_notice` and covers nothing, so a forged or damaged notice
 * cannot turn a real loss into "clean". What this cannot catch: a notice written through a door that
 * writes with the sink's own source (the CLI's stdin, or any writer forging whole lines) that names
 * a plausible range; refusing reserved types at those doors is what closes that.
 */
import { rankAt, type LedgerProblem } from './sessionTrack';

export interface NoticeFields {
  from: number;
  to: number;
  count: number;
  source: string;
}

const safe = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** Why a notice (line-level checks) is not trusted, or undefined when it passes. */
export function noticeDefect(n: NoticeFields, seq: number): string | undefined {
  if (n.source !== 'vscode' && n.source !== 'cli') return `source ${JSON.stringify(n.source)} is not a sink's own (vscode or cli)`;
  if (!safe(n.from) || !safe(n.to) || n.from > n.to) return 'from_seq and to_seq are not a range of seqs';
  if (n.to >= seq) return `its range ${n.from}–${n.to} reaches its own seq ${seq} (a sink writes the notice after the events it dropped)`;
  if (n.count !== n.to - n.from + 1) return `count ${Number.isNaN(n.count) ? 'missing' : n.count} does not match the range ${n.from}–${n.to} (${n.to - n.from + 1} seqs)`;
  return undefined;
}

export function noticeProblem(sid: string, seq: number, ord: number, offset: number, why: string): LedgerProblem {
  return { code: 'bad_drop_notice', sid, seq, ord, offset, r1: rankAt(ord, 2), r2: 0, a: 0, b: 0, c: 0, why };
}
