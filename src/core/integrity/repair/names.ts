import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitName, stamp } from '../../sink/rotation';

/**
 * Names of everything repair leaves next to an events file. For a target `<dir>/<base>`:
 *   .<base>.repair-<id>.inode       hard link to the target (created first, removed last)
 *   .<base>.repair-<id>.quarantine  quarantine being written (renamed to its final name on commit)
 *   .<base>.repair-<id>.new         journal being written
 *   .<base>.repair-<id>.journal     the committed journal (its presence means: finish this repair)
 *   <stem>.quarantine-<UTC stamp>-<6 hex><ext>   the final quarantine file
 * and once per family (the live file and its rotated set):
 *   .<live base>.repair-epoch       a random token, replaced before repair changes any existing byte
 */
export type ArtifactKind = 'inode' | 'quarantine' | 'new' | 'journal';
const ARTIFACT_RE = /^\.(.+)\.repair-([0-9a-f]{12})\.(inode|quarantine|new|journal)$/;
const ROTATED_RE = /^(.*)\.\d{8}T\d{9}Z-[0-9a-f]{6}(\.[^.]*)?$/;
/** Temp files of the repair before this one (`.<stem>.repair-<8 hex>.tmp`): always a killed run's leftover. */
const LEGACY_TMP_RE = /^\.(.+)\.repair-[0-9a-f]{8}\.tmp$/;

/** The live file a file belongs to: itself, or for a rotated name `<stem>.<stamp>-<hex><ext>`, `<stem><ext>`. */
export function familyOf(file: string): string {
  const m = ROTATED_RE.exec(path.basename(file));
  return m && m[1] ? path.join(path.dirname(file), m[1] + (m[2] ?? '')) : file;
}

export function artifactPath(target: string, id: string, kind: ArtifactKind): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.repair-${id}.${kind}`);
}

export function epochPath(live: string): string {
  return path.join(path.dirname(live), `.${path.basename(live)}.repair-epoch`);
}

export function quarantinePath(target: string, id: string, now = new Date()): string {
  const { dir, stem, ext } = splitName(target);
  return path.join(dir, `${stem}.quarantine-${stamp(now)}-${id.slice(0, 6)}${ext || '.jsonl'}`);
}

/** One repair's artifacts, found by listing the folder. */
export interface ArtifactSet {
  id: string;
  /** The target's file name when the repair started (it may have been rotated since). */
  base: string;
  dir: string;
  kinds: Set<ArtifactKind>;
}

/** Every artifact set of the family of `live` in its folder (any target: live or rotated). */
export function listArtifacts(live: string, names?: string[]): ArtifactSet[] {
  const dir = path.dirname(live);
  const sets = new Map<string, ArtifactSet>();
  for (const name of names ?? readDir(dir)) {
    const m = ARTIFACT_RE.exec(name);
    if (!m || familyOf(path.join(dir, m[1]!)) !== live) continue;
    const key = `${m[1]}\0${m[2]}`;
    let s = sets.get(key);
    if (!s) sets.set(key, (s = { id: m[2]!, base: m[1]!, dir, kinds: new Set() }));
    s.kinds.add(m[3] as ArtifactKind);
  }
  return [...sets.values()];
}

export function setPath(s: ArtifactSet, kind: ArtifactKind): string {
  return path.join(s.dir, `.${s.base}.repair-${s.id}.${kind}`);
}

/** Leftovers of the previous repair implementation for `target` (never in use while we hold its lock). */
export function legacyLeftovers(target: string): string[] {
  const { dir, stem } = splitName(target);
  const out: string[] = [];
  const oldQuarantine = new RegExp(`^${escapeRe(stem)}\\.quarantine-\\d{8}T\\d{9}Z${escapeRe(path.extname(target) || '.jsonl')}$`);
  for (const name of readDir(dir)) {
    const m = LEGACY_TMP_RE.exec(name);
    if (m && m[1] === stem) out.push(path.join(dir, name));
    // An empty quarantine holds nothing: only a killed run of the old code left one.
    else if (oldQuarantine.test(name) && fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size === 0) out.push(path.join(dir, name));
  }
  return out;
}

export function readDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
