/**
 * The AI event family (pure): ai.completion.<kind> from the API, the record command, HTTP, seed
 * payloads and the CLI. OpenTelemetry GenAI attribute names where they exist. Known fields are
 * type-checked (the error names the field); with captureContent off only the metadata allow-list is
 * written: the GenAI metadata names (privacy.ts), counts, latency, ids, booleans.
 */
import { GENAI_METADATA } from '../privacy';
import { AI_KINDS, AiKindName, isOneOf } from '../lists';
import type { AiKind } from './local-telemetry-sink';

// The public API's AiKind (a standalone .d.ts) and AI_KINDS name the same kinds: this fails to
// compile when either gains or loses one.
const sameKinds: [AiKind, AiKindName] extends [AiKindName, AiKind] ? true : never = true;
void sameKinds;

type Kind = 'string' | 'count' | 'number' | 'strings' | 'boolean';
/** This project's own AI fields, and the seed payload's metadata names kept on its AI events. */
const AI_FIELDS: Readonly<Record<string, Kind>> = {
  language_id: 'string',
  correlation_id: 'string',
  'error.type': 'string',
  latency_ms: 'count',
  chars: 'count',
  lines: 'count',
  is_local: 'boolean',
  success: 'boolean',
  event_type: 'string',
  extension: 'string',
};
const MAX_STRING = 256;
const MAX_TEXT = 1 << 20;

export class AiEventError extends Error {
  readonly code = 'ERR_INVALID_EVENT';
}

/**
 * The public API's AI event (strict: an unknown field other than gen_ai.* is an error). Returns
 * {type, data} ready for the sink, or throws AiEventError naming the field.
 */
export function toAiRecord(e: unknown, captureContent: boolean): { type: string; data: Record<string, unknown> } {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new AiEventError('AI event: expected an object');
  const o = e as Record<string, unknown>;
  if (!isOneOf(AI_KINDS, o.kind)) {
    throw new AiEventError(`field "kind": expected one of ${AI_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  }
  const kind = o.kind as AiKind;
  return { type: `ai.completion.${kind}`, data: aiData(kind, o, { captureContent, strict: true, removed: new Set() }) };
}

/** Is this type in the AI family (so aiData applies)? Returns its kind, or throws for a bad kind. */
export function aiKindOf(type: string, data: Record<string, unknown>): AiKind | undefined {
  if (type !== 'ai.completion' && !type.startsWith('ai.completion.')) return undefined;
  const kind = type === 'ai.completion' ? data.kind : type.slice('ai.completion.'.length);
  if (!isOneOf(AI_KINDS, kind)) throw new AiEventError(`field "type": expected ai.completion.<${AI_KINDS.join('|')}>, got "${type}"`);
  if (data.kind !== undefined && data.kind !== kind) throw new AiEventError(`field "kind": expected "${kind as string}" (the type's kind), got ${JSON.stringify(data.kind)}`);
  return kind as AiKind;
}

/**
 * The data an AI event is written with: kind, detection "reported", the allowed fields (checked),
 * and — only with captureContent — `text`, other gen_ai.* attributes and (not strict) other fields.
 * `removed` collects what was left out.
 */
export function aiData(kind: AiKind, src: Record<string, unknown>, o: { captureContent: boolean; strict: boolean; removed: Set<string> }): Record<string, unknown> {
  const data: Record<string, unknown> = { kind, detection: 'reported' };
  for (const [k, v] of Object.entries(src)) {
    if (k === 'kind' || k === 'detection' || v === undefined) continue;
    const rule = Object.prototype.hasOwnProperty.call(AI_FIELDS, k) ? AI_FIELDS[k] : Object.prototype.hasOwnProperty.call(GENAI_METADATA, k) ? GENAI_METADATA[k] : undefined;
    if (rule) {
      check(k, v, rule);
      data[k] = v;
      continue;
    }
    if (k === 'text') {
      if (typeof v !== 'string' || v.length > MAX_TEXT) throw new AiEventError(`field "text": expected a string of at most ${MAX_TEXT} characters`);
    } else if (k.startsWith('gen_ai.')) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new AiEventError(`field "${k}": expected a string, number or boolean`);
    } else if (o.strict) {
      throw new AiEventError(`unknown field "${k}"`);
    }
    if (o.captureContent) Object.defineProperty(data, k, { value: v, enumerable: true, writable: true, configurable: true });
    else o.removed.add(k);
  }
  return data;
}

function check(k: string, v: unknown, kind: Kind): void {
  const ok =
    kind === 'string'
      ? typeof v === 'string' && v.length <= MAX_STRING
      : kind === 'count'
        ? typeof v === 'number' && Number.isFinite(v) && v >= 0
        : kind === 'number'
          ? typeof v === 'number' && Number.isFinite(v)
          : kind === 'boolean'
            ? typeof v === 'boolean'
            : Array.isArray(v) && v.length <= 64 && v.every((x) => typeof x === 'string' && x.length <= MAX_STRING);
  if (ok) return;
  const want = { string: `a string of at most ${MAX_STRING} characters`, count: 'a number >= 0', number: 'a finite number', boolean: 'true or false', strings: `a list of strings of at most ${MAX_STRING} characters` }[kind];
  throw new AiEventError(`field "${k}": expected ${want}`);
}
