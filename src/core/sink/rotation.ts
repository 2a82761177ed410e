import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Rotated files live next to the live file: `events.jsonl` → `events.20261128T031347123Z-ab12cd.jsonl`.
 * The UTC stamp makes name order write order; the random suffix keeps names unique.
 */
const STAMP_RE = /^(\d{8}T\d{9}Z)-([0-9a-f]{6})$/;

export function splitName(file: string): { dir: string; stem: string; ext: string } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const ext = path.extname(base);
  return { dir, stem: ext ? base.slice(0, -ext.length) : base, ext };
}

export function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:.]/g, ''); // 20261128T031347123Z
}

export function rotatedName(file: string, now = new Date()): string {
  const { dir, stem, ext } = splitName(file);
  return path.join(dir, `${stem}.${stamp(now)}-${randomBytes(3).toString('hex')}${ext}`);
}

export interface RotatedFile {
  path: string;
  stamp: string;
  mtimeMs: number;
  size: number;
}

/** Rotated siblings of `file`, oldest first (by the stamp in the name, then mtime). */
export function listRotated(file: string): RotatedFile[] {
  const { dir, stem, ext } = splitName(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: RotatedFile[] = [];
  const prefix = stem + '.';
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(ext)) continue;
    const middle = name.slice(prefix.length, ext ? name.length - ext.length : name.length);
    const m = STAMP_RE.exec(middle);
    if (!m) continue;
    const p = path.join(dir, name);
    try {
      const st = fs.statSync(p);
      if (st.isFile()) out.push({ path: p, stamp: m[1]!, mtimeMs: st.mtimeMs, size: st.size });
    } catch {
      /* removed meanwhile */
    }
  }
  out.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.mtimeMs - b.mtimeMs));
  return out;
}

export interface RetentionPolicy {
  /** Keep at most this many rotated files (0 = unlimited). */
  maxFiles: number;
  /** Delete rotated files older than this many days (0 = never). */
  maxAgeDays: number;
}

/** Deletes rotated files beyond the policy; returns the paths removed. Called under the lock. */
export function applyRetention(file: string, policy: RetentionPolicy, now = Date.now()): string[] {
  const rotated = listRotated(file);
  const doomed = new Set<string>();
  if (policy.maxFiles > 0 && rotated.length > policy.maxFiles) {
    for (const r of rotated.slice(0, rotated.length - policy.maxFiles)) doomed.add(r.path);
  }
  if (policy.maxAgeDays > 0) {
    const cutoff = now - policy.maxAgeDays * 86_400_000;
    for (const r of rotated) if (r.mtimeMs < cutoff) doomed.add(r.path);
  }
  const removed: string[] = [];
  for (const p of doomed) {
    try {
      fs.unlinkSync(p);
      removed.push(p);
    } catch {
      /* already gone */
    }
  }
  return removed;
}
