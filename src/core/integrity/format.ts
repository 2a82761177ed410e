import * as path from 'node:path';
import type { VerifyReport } from './verify';
import type { RepairResult } from './repair';

const n = (x: number): string => x.toLocaleString('en-US');
const mb = (b: number): string => (b / 1e6).toFixed(b < 1e7 ? 2 : 1) + ' MB';

/** Human report of a verify run: the verdict first, then numbers, then the problems. */
export function formatVerify(r: VerifyReport): string {
  const out: string[] = [];
  const bytes = r.files.reduce((a, f) => a + f.checkedBytes, 0);
  const where = r.files.length === 1 ? r.files[0]!.path : `${r.files.length} files (${path.basename(r.files[r.files.length - 1]!.path)} and its rotated set)`;
  out.push(`${r.clean ? 'CLEAN' : 'PROBLEMS FOUND'}: ${where}`);
  out.push(`  ${n(r.totals.lines)} lines, ${mb(bytes)} checked in ${r.elapsedMs} ms (${r.megabytesPerSecond} MB/s), ${r.mode === 'deep' ? 'deep mode: every line parsed' : 'fast mode: crc-verified lines scanned, the rest parsed'}`);
  const t = r.totals;
  out.push(`  valid ${n(t.valid)} · invalid ${n(t.invalid)} · lost ${n(t.lost)} · dropped (accounted) ${n(t.dropped)} · duplicates ${n(t.duplicates)} · out of order ${n(t.outOfOrder)} · duplicate ids ${n(t.duplicateIds)} · torn ${n(t.torn)}`);
  if (t.invalid) out.push(`  invalid by reason: ${Object.entries(t.invalidByReason).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  out.push(`  sessions ${n(r.sessions)}${r.timeSpan.first ? ` · ${r.timeSpan.first} → ${r.timeSpan.last}` : ''}`);
  const backends = Object.entries(r.lockBackends);
  if (backends.length) out.push(`  lock backends (from session.start): ${backends.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  if (t.withoutCrc) out.push(`  ${n(t.withoutCrc)} line(s) carry no crc (written by other tools): parsed and checked, not checksummed`);
  for (const f of r.files) {
    if (!f.locked) out.push(`  note: ${path.basename(f.path)} was read without the lock (it stayed busy); its last line may be in progress`);
    if (f.note) out.push(`  note: ${path.basename(f.path)} ${f.note}`);
    if (f.beingWritten) out.push(`  note: ${n(f.beingWritten)} bytes were appended to ${path.basename(f.path)} while verifying (being written, not checked)`);
  }
  if (r.problemsTotal) {
    out.push('');
    out.push(`Problems (${r.problems.length < r.problemsTotal ? `first ${r.problems.length} of ` : ''}${n(r.problemsTotal)}):`);
    for (const p of r.problems) {
      const file = r.files.length > 1 ? `${path.basename(p.file)}:` : '';
      out.push(`  ${file}line ${p.line} (byte ${p.offset})  ${p.code.padEnd(13)} ${p.message}${p.excerpt !== undefined ? `\n      ${p.excerpt}` : ''}`);
    }
  }
  if (r.totals.warnings) {
    out.push('');
    out.push(`Warnings (${n(r.totals.warnings)}):`);
    for (const w of r.warnings) out.push(`  line ${w.line}  ${w.code}  ${w.message}`);
  }
  const types = Object.entries(r.types).sort((a, b) => b[1] - a[1]);
  if (types.length) {
    out.push('');
    out.push('Events by type:');
    for (const [k, v] of types.slice(0, 30)) out.push(`  ${n(v).padStart(10)}  ${k}`);
    if (types.length > 30) out.push(`  … and ${types.length - 30} more types`);
  }
  return out.join('\n') + '\n';
}

export function formatRepair(r: RepairResult): string {
  const before = (r.recovered ?? []).map((x) => `First ${x}.\n`).join('');
  if (r.removed) return `${before}${r.file} was removed (retention) before repair reached it.\n`;
  if (r.clean) return `${before}Nothing to repair: every line of ${r.file} is valid. The file was not touched.\n`;
  const reasons = Object.entries(r.byReason).map(([k, v]) => `${k} ${v}`).join(', ');
  return (
    before +
    `Repaired ${r.file}\n` +
    `  kept ${n(r.linesKept)} valid lines (${n(r.bytesKept)} bytes)\n` +
    `  moved ${n(r.linesMoved)} damaged lines (${n(r.bytesMoved)} bytes: ${reasons})\n` +
    `  to ${r.quarantine}\n` +
    `  Kept + moved = the original, byte for byte; each quarantined line keeps its line number, offset and raw bytes.\n`
  );
}
