/**
 * Normalizes one incoming event (CLI stdin line, HTTP body, API call) into {type, data}.
 * Two shapes are accepted:
 *  - envelope-lite: {"type": "editor.save", "data": {...}}
 *  - the seed's payload: {"event_type": "...", "extension": "...", "is_local": true, "success": true, ...}
 * Pure: no vscode, no I/O.
 */
import { badTypeMessage, isEventType, TYPE_RE } from '../sink/envelope';
import { AI_KINDS } from '../lists';
import { strictJsonProblem } from '../integrity/strictJson';

export interface NormalizedEvent {
  type: string;
  data: Record<string, unknown>;
}

export class InputError extends Error {
  readonly code = 'ERR_INVALID_EVENT';
}

/** Longest first, so `…partially_accepted` is not read as `accepted`. */
const KINDS_LONGEST_FIRST = [...AI_KINDS].sort((a, b) => b.length - a.length);

export function parseInputLine(text: string): NormalizedEvent {
  return normalizeInput(parseStrict(text));
}

/**
 * JSON.parse for the doors (stdin, HTTP), refusing what it would silently change: a duplicate key
 * (the last one wins), an integer past 2^53 − 1 (rounded) and a number out of range (Infinity,
 * then written as null). Verify calls the first two ambiguous in lines without a crc; a line the
 * sink seals with a crc must not hide them. InputError (ERR_INVALID_EVENT) naming the field.
 */
export function parseStrict(text: string): unknown {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not JSON (${(err as Error).message})`);
  }
  const why = strictJsonProblem(text) ?? nonFinite(obj);
  if (why) throw new InputError(why);
  return obj;
}

/** The first number JSON.parse read as ±Infinity; a loop, not recursion (any depth parses). */
function nonFinite(root: unknown): string | undefined {
  const todo: Array<[unknown, string]> = [[root, '']];
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [v, key] = item;
    if (typeof v === 'number' && !Number.isFinite(v)) return `field ${JSON.stringify(key)}: number out of range (it reads as ${v} and would be written as null)`;
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) todo.push([x, Array.isArray(v) ? key : k]);
  }
  return undefined;
}

export function normalizeInput(obj: unknown): NormalizedEvent {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new InputError('expected a JSON object');
  const o = obj as Record<string, unknown>;
  if ('type' in o) {
    if (!isEventType(o.type)) throw new InputError(badTypeMessage(o.type));
    // Absent data means {}; an explicit null is a mistake worth reporting, not an empty object.
    const data = o.data === undefined ? {} : o.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new InputError('field "data": expected an object');
    const extra = Object.keys(o).filter((k) => k !== 'type' && k !== 'data');
    if (extra.length) throw new InputError(`unknown field "${extra[0]}" (expected only "type" and "data")`);
    return { type: o.type, data: data as Record<string, unknown> };
  }
  if ('event_type' in o) return fromSeedPayload(o);
  throw new InputError('missing field "type" (or "event_type" for seed-style payloads)');
}

/**
 * Seed payloads keep the fields they carried (what is written then follows the door policy,
 * policy.ts); AI completion event types map onto ai.completion.<kind> with the OpenTelemetry GenAI
 * names the extension API uses.
 */
export function fromSeedPayload(o: Record<string, unknown>): NormalizedEvent {
  const et = o.event_type;
  if (typeof et !== 'string' || et.trim() === '') throw new InputError('field "event_type": expected a non-empty string');
  for (const f of ['is_local', 'success'] as const) {
    if (f in o && typeof o[f] !== 'boolean') throw new InputError(`field "${f}": expected true or false`);
  }
  if ('extension' in o && typeof o.extension !== 'string') throw new InputError('field "extension": expected a string');
  const data: Record<string, unknown> = { ...o };
  const norm = et.trim().toLowerCase().replace(/[^a-z0-9_.]+/g, '_').replace(/^[._]+|[._]+$/g, '').replace(/\.{2,}/g, '.') || 'event';
  const kind = KINDS_LONGEST_FIRST.find((k) => new RegExp(`(^|[._])(completion|suggestion|inline)[._]?${k}$`).test(norm) || norm === k);
  let type = `seed.${norm}`;
  if (kind) {
    type = `ai.completion.${kind}`;
    data.kind = kind;
    data.detection = 'reported';
    // The seed's names move to their OpenTelemetry GenAI names.
    const renames = [['model', 'gen_ai.request.model', 'string'], ['provider', 'gen_ai.provider.name', 'string'], ['input_tokens', 'gen_ai.usage.input_tokens', 'number'], ['output_tokens', 'gen_ai.usage.output_tokens', 'number']] as const;
    for (const [from, to, type] of renames) {
      if (typeof o[from] !== type) continue;
      data[to] = o[from];
      delete data[from];
    }
  }
  if (!TYPE_RE.test(type)) type = 'seed.event';
  return { type, data };
}
