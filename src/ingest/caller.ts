import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Which installed extension is calling us: the nearest stack frame that lies in another
 * extension's folder — the way VS Code itself attributes extension errors. VS Code passes no caller
 * identity to exported APIs or to commands, so this is the only signal there is. It works for
 * direct API calls and for executeCommand from an extension in this extension host (VS Code runs a
 * local command's handler synchronously inside executeCommand). It cannot see a caller in another
 * extension host (e.g. a remote or web worker host), code with no file (eval, new Function), or an
 * extension that lowers Error.stackTraceLimit or patches the stack machinery — extensions share one
 * process, so an extension set on impersonating another can. README "Who is calling" says so.
 */
export class CallerIdentity implements vscode.Disposable {
  /** Extension folders, longest first; built on the first call (its realpaths are file-system work). */
  private roots: Array<{ dir: string; id: string }> | undefined;
  private readonly sub: vscode.Disposable;
  private readonly fold = process.platform === 'win32' || process.platform === 'darwin';

  constructor(private readonly ownId: string) {
    this.sub = vscode.extensions.onDidChange(() => (this.roots = undefined));
  }

  private index(): Array<{ dir: string; id: string }> {
    const roots: Array<{ dir: string; id: string }> = [];
    for (const e of vscode.extensions.all) {
      if (e.id.toLowerCase() === this.ownId.toLowerCase() || e.extensionUri.scheme !== 'file') continue;
      const dirs = new Set([e.extensionPath]);
      try {
        dirs.add(fs.realpathSync(e.extensionPath));
      } catch {
        /* gone or unreadable: the path as given still matches */
      }
      for (const d of dirs) roots.push({ dir: this.norm(d.endsWith(path.sep) ? d : d + path.sep), id: e.id });
    }
    return roots.sort((a, b) => b.dir.length - a.dir.length);
  }

  private norm(p: string): string {
    return this.fold ? p.toLowerCase() : p;
  }

  /**
   * The id of the nearest other installed extension on the current call stack, if any. A direct
   * API call sits 4 frames deep and one through executeCommand about 9; each captured frame costs
   * (VS Code formats every frame of every captured stack), so a short stack is tried first.
   */
  caller(): string | undefined {
    const roots = (this.roots ??= this.index());
    for (const depth of [6, 16]) {
      for (const file of stackFiles(depth)) {
        const f = this.norm(file);
        const hit = roots.find((r) => f.startsWith(r.dir));
        if (hit) return hit.id;
      }
    }
    return undefined;
  }

  dispose(): void {
    this.sub.dispose();
  }
}

/** File names of the innermost `depth` frames of the current stack (below stackFiles itself). */
function stackFiles(depth: number): string[] {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  let sites: unknown;
  try {
    Error.stackTraceLimit = depth;
    Error.prepareStackTrace = (_e, cs) => cs;
    Error.captureStackTrace(holder, stackFiles);
    sites = holder.stack; // formatted (by the function above) on first access
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
  if (!Array.isArray(sites)) return [];
  const out: string[] = [];
  for (const cs of sites as NodeJS.CallSite[]) {
    const name = cs.getFileName?.();
    if (!name) continue;
    try {
      out.push(name.startsWith('file:') ? fileURLToPath(name) : name);
    } catch {
      /* not a file URL we understand */
    }
  }
  return out;
}
