/**
 * One policy for every door through which outside callers' events enter — the extension API, the
 * telemetrySink.record command, HTTP ingest (seed payloads and /v1/events) and the CLI's stdin
 * (pure). It refuses the types the extension and the sink write themselves, and with captureContent
 * off keeps content out of the file: AI events keep an allow-list of metadata fields, free-form
 * data loses known content keys at any depth and long strings.
 */
import { redactFreeForm } from '../privacy';
import { aiData, aiKindOf } from './aiEvent';
import { InputError, NormalizedEvent, parseInputLine } from './input';

/** Event families only the extension and the sink write (session.*, sink.*, editor.*, …). */
export const RESERVED_FAMILIES: readonly string[] = ['session', 'sink', 'editor', 'window', 'terminal', 'task', 'debug', 'workspace'];

export interface DoorPolicy {
  captureContent: boolean;
}

export interface Admitted extends NormalizedEvent {
  /** Content keys left out (captureContent off), for one log line per caller. */
  removed: string[];
}

/** Applies the policy; throws an Error with code ERR_INVALID_EVENT naming what is wrong. */
export function admit(ev: NormalizedEvent, policy: DoorPolicy): Admitted {
  const family = ev.type.split('.', 1)[0]!;
  if (RESERVED_FAMILIES.includes(family)) {
    throw new InputError(`field "type": "${ev.type}" is reserved for the extension's own ${family}.* events`);
  }
  const removed = new Set<string>();
  const kind = aiKindOf(ev.type, ev.data);
  let data: Record<string, unknown>;
  if (kind) data = aiData(kind, ev.data, { captureContent: policy.captureContent, strict: false, removed });
  else data = policy.captureContent ? ev.data : redactFreeForm(ev.data, removed);
  return { type: kind ? `ai.completion.${kind}` : ev.type, data, removed: [...removed] };
}

/** A CLI stdin line through the same policy. */
export function admitLine(text: string, policy: DoorPolicy): Admitted {
  return admit(parseInputLine(text), policy);
}
