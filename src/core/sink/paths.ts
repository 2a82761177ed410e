import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEFAULT_FILE_NAME = 'events.jsonl';
export const APP_DIR = 'telemetry-sink';

/**
 * The one default file every window, every VS Code flavour and the CLI agree on:
 * $TELEMETRY_SINK_FILE, else the platform data folder + telemetry-sink/events.jsonl.
 */
export function defaultEventsFile(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  const explicit = env.TELEMETRY_SINK_FILE;
  if (explicit && explicit.trim() !== '') return path.resolve(expandHome(explicit.trim(), home));
  return path.join(platformDataDir(env, platform, home), APP_DIR, DEFAULT_FILE_NAME);
}

export function platformDataDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  if (platform === 'win32') return env.LOCALAPPDATA || path.join(home, 'AppData', 'Local');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support');
  const xdg = env.XDG_DATA_HOME;
  return xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.local', 'share');
}

export function expandHome(p: string, home = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(home, p.slice(2));
  return p;
}

/** Creates the folder (0700) if missing. An existing folder keeps its mode: it may be the user's. */
export function ensureDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}
