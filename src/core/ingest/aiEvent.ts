/**
 * The AI event shape of the public API (pure). OpenTelemetry GenAI attribute names where they exist.
 * Validation names the bad field; text fields are only kept with captureContent.
 */
import { stripContent } from '../privacy';

import type { AiKind } from './local-telemetry-sink';

export const AI_KINDS: readonly AiKind[] = ['shown', 'accepted', 'partially_accepted', 'rejected', 'error'];

const STRINGS = ['gen_ai.provider.name', 'gen_ai.request.model', 'language_id', 'correlation_id', 'text'];
const COUNTS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'latency_ms', 'chars', 'lines'];
const BOOLS = ['is_local', 'success'];

export class AiEventError extends Error {
  readonly code = 'ERR_INVALID_EVENT';
}

/** Returns {type, data} ready for the sink, or throws AiEventError naming the field. */
export function toAiRecord(e: unknown, captureContent: boolean): { type: string; data: Record<string, unknown> } {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new AiEventError('AI event: expected an object');
  const o = e as Record<string, unknown>;
  if (!(AI_KINDS as readonly string[]).includes(o.kind as string)) {
    throw new AiEventError(`field "kind": expected one of ${AI_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  }
  const data: Record<string, unknown> = { kind: o.kind, detection: 'reported' };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'kind' || v === undefined) continue;
    if (STRINGS.includes(k)) {
      if (typeof v !== 'string' || v.length > (k === 'text' ? 1 << 20 : 256)) throw new AiEventError(`field "${k}": expected a string`);
    } else if (COUNTS.includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new AiEventError(`field "${k}": expected a number >= 0`);
    } else if (BOOLS.includes(k)) {
      if (typeof v !== 'boolean') throw new AiEventError(`field "${k}": expected true or false`);
    } else if (k.startsWith('gen_ai.')) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new AiEventError(`field "${k}": expected a string, number or boolean`);
    } else {
      throw new AiEventError(`unknown field "${k}"`);
    }
    data[k] = v;
  }
  stripContent(data, captureContent);
  return { type: `ai.completion.${o.kind as string}`, data };
}
