/**
 * The `origin` column: who shipped the rows. By default a salted hash of user@host, so a team can
 * count distinct people and machines without the table naming them; `plain` ships user@host, `none`
 * an empty string. The salt is $TELEMETRY_SINK_SHIP_SALT, else a random one kept in `.ship-salt`
 * beside the events file (0600, created once, never through a symlink).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { ShipError } from './errors';
import { openNoFollow } from './safeFs';
import { linkNewSecret } from '../sink/safefs';
import type { IdentityMode } from './settings';


export function saltPath(eventsFile: string): string {
  return path.join(path.dirname(path.resolve(eventsFile)), '.ship-salt');
}

function readSalt(p: string): string | undefined {
  const fd = openNoFollow(p, fs.constants.O_RDONLY);
  if (fd === undefined) return undefined;
  try {
    const s = fs.readFileSync(fd, 'utf8').trim();
    if (!/^[0-9a-f]{32,128}$/.test(s)) throw new ShipError('ERR_SHIP_CONFIG', `salt file ${p} is not 32–128 hex characters; remove it to make a new one`);
    return s;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads the salt, creating it atomically (temp file + link, which never replaces) when missing. */
export function loadSalt(eventsFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.TELEMETRY_SINK_SHIP_SALT;
  if (fromEnv && fromEnv.length >= 8) return fromEnv;
  const p = saltPath(eventsFile);
  const have = readSalt(p);
  if (have) return have;
  try {
    linkNewSecret(p); // false: another shipper made it first, read theirs
  } catch (err) {
    throw new ShipError('ERR_SHIP_CONFIG', `cannot create the salt file ${p}: ${(err as Error).message}`, err);
  }
  const made = readSalt(p);
  if (!made) throw new ShipError('ERR_SHIP_CONFIG', `salt file ${p} vanished right after it was made`);
  return made;
}

/** The origin column's value for this shipper. */
export function originValue(mode: IdentityMode, eventsFile: string, env: NodeJS.ProcessEnv = process.env): string {
  if (mode === 'none') return '';
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  const who = `${user}@${os.hostname()}`;
  if (mode === 'plain') return who;
  const h = createHash('sha256').update(loadSalt(eventsFile, env)).update('\0').update(who).digest('hex');
  return 'h:' + h.slice(0, 16);
}
