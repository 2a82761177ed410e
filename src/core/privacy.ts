/**
 * Privacy helpers (pure): how paths appear in events, which files are excluded, and stripping of
 * text fields unless the user turned content capture on.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { PathMode } from './settings';

export interface PathContext {
  mode: PathMode;
  /** Workspace folder roots (absolute fs paths). */
  roots: string[];
}

/** The path as the setting wants it, or undefined for mode "none". */
export function presentPath(fsPath: string, ctx: PathContext, scheme = 'file'): string | undefined {
  if (ctx.mode === 'none') return undefined;
  if (scheme === 'untitled') return 'untitled';
  if (ctx.mode === 'hashed') return 'sha256:' + createHash('sha256').update(fsPath).digest('hex').slice(0, 16);
  if (ctx.mode === 'basename') return path.basename(fsPath);
  for (const root of ctx.roots) {
    const rel = path.relative(root, fsPath);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return '(outside workspace)/' + path.basename(fsPath);
}

/** Converts a glob (`**`, `*`, `?`, `{a,b}`) to a RegExp over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += '(?:' + glob.slice(i + 1, end).split(',').map(escape).join('|') + ')';
        i = end;
      }
    } else re += escape(c);
  }
  return new RegExp('^' + re + '$');
}
function escape(s: string): string {
  return s.replace(/[.+^$()|[\]\\]/g, '\\$&');
}

export class Excluder {
  private readonly res: RegExp[];
  constructor(globs: string[]) {
    this.res = globs.filter((g) => g.trim()).map(globToRegExp);
  }
  /** Matches the absolute path (and, for convenience, any suffix starting at a segment). */
  excluded(fsPath: string): boolean {
    if (!this.res.length) return false;
    const p = fsPath.split(path.sep).join('/');
    return this.res.some((r) => r.test(p) || r.test(p.replace(/^\/+/, '')));
  }
}

const TEXT_FIELDS = ['text', 'completion', 'completion_text', 'prompt', 'content', 'insert_text', 'suggestion', 'code'];

/** Removes text fields from an AI/API event unless content capture is on. Returns the names removed. */
export function stripContent(data: Record<string, unknown>, captureContent: boolean): string[] {
  if (captureContent) return [];
  const removed: string[] = [];
  for (const k of TEXT_FIELDS) {
    if (k in data) {
      delete data[k];
      removed.push(k);
    }
  }
  return removed;
}
