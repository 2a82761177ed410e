/**
 * Privacy helpers: how paths appear in events (with the per-installation salt for hashed paths),
 * which files are excluded, content removal for outside callers' free-form data, and scrubbing of
 * absolute paths from the strings the sink itself writes (backend reasons, session stats).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PathMode } from './lists';
import type { SinkStats } from './sink/appender';
import { linkNewSecret } from './sink/safefs';

export interface PathContext {
  mode: PathMode;
  /** Workspace folder roots (absolute fs paths). */
  roots: string[];
  /** The per-installation salt (mode "hashed" writes no path without it). */
  salt?: Buffer;
}

/** The path as the setting wants it, or undefined for mode "none" (and "hashed" without a salt). */
export function presentPath(fsPath: string, ctx: PathContext, scheme = 'file'): string | undefined {
  if (ctx.mode === 'none') return undefined;
  if (scheme === 'untitled') return 'untitled';
  if (ctx.mode === 'basename') return path.basename(fsPath);
  const rel = relativeTo(fsPath, ctx.roots);
  if (ctx.mode === 'hashed') {
    if (!ctx.salt) return undefined;
    return 'sha256:' + createHash('sha256').update(ctx.salt).update(rel ?? fsPath).digest('hex').slice(0, 16);
  }
  return rel ?? '(outside workspace)/' + path.basename(fsPath);
}

function relativeTo(fsPath: string, roots: string[]): string | undefined {
  for (const root of roots) {
    const rel = path.relative(root, fsPath);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return undefined;
}

export const SALT_FILE = 'path-hash.salt';

/**
 * The per-installation salt for hashed paths: 32 random bytes kept as hex in `<dir>/path-hash.salt`
 * (0600). Created once, atomically (a complete temp file linked into place, so a racing window or
 * CLI reads either nothing or the whole salt); never follows a symlink; refused unless it is a
 * regular file owned by this user and private to it. Throws an Error with a code on failure.
 */
export function loadPathSalt(dir: string): Buffer {
  const file = path.join(dir, SALT_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = readSalt(file);
    if (existing) return existing;
    linkNewSecret(file);
  }
  throw Object.assign(new Error(`${SALT_FILE} could not be created`), { code: 'ERR_SALT' });
}

function readSalt(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (process.platform !== 'win32' && (st.mode & 0o077) !== 0)) {
      throw Object.assign(new Error(`${SALT_FILE} is not a private file of this user; remove it to make a new one`), { code: 'ERR_SALT' });
    }
    const text = fs.readFileSync(fd, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw Object.assign(new Error(`${SALT_FILE} is damaged (expected 64 hex digits); remove it to make a new one`), { code: 'ERR_SALT' });
    return Buffer.from(text, 'hex');
  } finally {
    fs.closeSync(fd);
  }
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

// ---- content ---------------------------------------------------------------------------------

/** Last words of a key that name content: `completionText`, `gen_ai.input.messages`, `userPrompt`, … */
const CONTENT_WORDS = new Set(['text', 'texts', 'content', 'contents', 'prompt', 'prompts', 'completion', 'completions', 'body', 'message', 'messages', 'snippet', 'snippets', 'suggestion', 'suggestions', 'transcript', 'instructions', 'arguments', 'diff', 'patch', 'stdout', 'stderr', 'query', 'output', 'outputs', 'input', 'inputs', 'response', 'clipboard', 'prefix', 'suffix', 'question', 'questions', 'answer', 'answers', 'reply', 'replies']);
/** Whole keys (words joined by `_`) that name content although their last word does not. */
const CONTENT_KEYS = new Set(['code', 'source_code', 'generated_code', 'suggested_code', 'inserted_code']);

/**
 * OpenTelemetry GenAI attributes that are metadata (names, ids, counts, settings), with their kind.
 * Every other `gen_ai.*` attribute — `gen_ai.prompt`, `gen_ai.completion`, `gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.system_instructions`, `gen_ai.tool.call.arguments`, … — is
 * treated as content.
 */
export const GENAI_METADATA: Readonly<Record<string, 'string' | 'count' | 'number' | 'strings'>> = {
  'gen_ai.provider.name': 'string',
  'gen_ai.system': 'string',
  'gen_ai.operation.name': 'string',
  'gen_ai.request.model': 'string',
  'gen_ai.response.model': 'string',
  'gen_ai.response.id': 'string',
  'gen_ai.conversation.id': 'string',
  'gen_ai.output.type': 'string',
  'gen_ai.token.type': 'string',
  'gen_ai.agent.id': 'string',
  'gen_ai.agent.name': 'string',
  'gen_ai.tool.name': 'string',
  'gen_ai.tool.type': 'string',
  'gen_ai.tool.call.id': 'string',
  'gen_ai.data_source.id': 'string',
  'gen_ai.usage.input_tokens': 'count',
  'gen_ai.usage.output_tokens': 'count',
  'gen_ai.usage.total_tokens': 'count',
  'gen_ai.usage.cache_read.input_tokens': 'count',
  'gen_ai.usage.cache_creation.input_tokens': 'count',
  'gen_ai.request.max_tokens': 'count',
  'gen_ai.request.choice.count': 'count',
  'gen_ai.request.seed': 'number',
  'gen_ai.request.temperature': 'number',
  'gen_ai.request.top_p': 'number',
  'gen_ai.request.top_k': 'number',
  'gen_ai.request.frequency_penalty': 'number',
  'gen_ai.request.presence_penalty': 'number',
  'gen_ai.response.finish_reasons': 'strings',
  'gen_ai.request.encoding_formats': 'strings',
};

export const MAX_FREE_STRING = 256;
export const MAX_FREE_KEY = 64;
export const MAX_FREE_DEPTH = 32;

/**
 * The words of a key, lower-cased: split at anything but letters and digits, at camelCase humps
 * (`LLMPrompt` → llm, prompt) and between letters and digits (`text1` → text, 1).
 */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/**
 * Last words that only hold what the word before them names: `input.value` (OpenInference),
 * `messages.0` (flattened lists), `prompt_template.variables`. They are skipped when looking for
 * the word that says what the key holds.
 */
const HOLDER_WORDS = new Set(['value', 'values', 'raw', 'str', 'string', 'json', 'data', 'template', 'templates', 'variables']);

/** True for a key that names document, prompt or completion content (README "What can be written"). */
export function isContentKey(key: string): boolean {
  if (key.startsWith('gen_ai.')) return !Object.prototype.hasOwnProperty.call(GENAI_METADATA, key);
  const words = keyWords(key);
  while (words.length > 1 && (HOLDER_WORDS.has(words[words.length - 1]!) || /^[0-9]+$/.test(words[words.length - 1]!))) words.pop();
  return words.length > 0 && (CONTENT_WORDS.has(words[words.length - 1]!) || CONTENT_KEYS.has(words.join('_')));
}

export class ContentError extends Error {
  readonly code = 'ERR_INVALID_EVENT';
}

/**
 * Outside callers' free-form data with captureContent off: a copy without content keys (at any
 * depth, whatever their value), without keys over 64 characters, and with every string over 256
 * characters replaced by a marker. `removed` collects the key names taken out. Values are read the
 * way JSON.stringify reads them (toJSON, functions and undefined left out).
 */
export function redactFreeForm(data: Record<string, unknown>, removed: Set<string>): Record<string, unknown> {
  return walk(data, '', 0, removed) as Record<string, unknown>;
}

function walk(value: unknown, key: string, depth: number, removed: Set<string>): unknown {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(k: string): unknown }).toJSON(key);
  if (typeof v === 'string') return v.length > MAX_FREE_STRING ? `[${v.length} characters not recorded]` : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_FREE_DEPTH) throw new ContentError(`field "data": nested deeper than ${MAX_FREE_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x, i) => walk(x, String(i), depth + 1, removed));
  // A null prototype: a key "__proto__" from JSON stays a plain own property.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v)) {
    if (k.length > MAX_FREE_KEY || isContentKey(k)) {
      if (removed.size < 64) removed.add(k.length > MAX_FREE_KEY ? `${k.slice(0, 16)}…` : k);
      continue;
    }
    out[k] = walk(x, k, depth + 1, removed);
  }
  return out;
}

// ---- absolute paths in what the sink writes ---------------------------------------------------

const ABSOLUTE = /(?:(?<![\w.~…-])\/|\b[A-Za-z]:\\|\\\\)[^\s'"`,;()[\]{}<>]*/g;

/**
 * Replaces absolute paths in every string of `value` (deeply) by `…/<basename>`: first the `known`
 * paths (which may contain spaces), the home folder and the temp folder, then anything that looks
 * like an absolute path. For what the sink writes about itself: backend reasons, error messages.
 */
export function scrubPaths<T>(value: T, known: string[] = []): T {
  const prefixes = [...known, os.homedir(), os.tmpdir()].filter((p) => p && p.length > 1).sort((a, b) => b.length - a.length);
  const one = (s: string): string => {
    let t = s;
    for (const p of prefixes) t = t.split(p).join('…');
    return t.replace(ABSOLUTE, (m) => '…/' + (m.split(/[\\/]/).filter(Boolean).pop() ?? ''));
  };
  const deep = (v: unknown): unknown => {
    if (typeof v === 'string') return one(v);
    if (Array.isArray(v)) return v.map(deep);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]));
    return v;
  };
  return deep(value) as T;
}

/** A sink's stats as session.end carries them: the file by name only, no absolute path anywhere. */
export function statsForEvents(s: SinkStats): Record<string, unknown> {
  return scrubPaths({ ...s, file: path.basename(s.file) } as Record<string, unknown>, [path.dirname(s.file)]);
}
