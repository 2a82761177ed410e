import type { CommandDeps } from './deps';
import type { CallerIdentity } from '../ingest/caller';

/**
 * telemetrySink.record(type, data) for extensions that want no hard dependency. `ai.completion`
 * with data.kind is validated as an AI event; everything goes through the door policy. The source
 * is the calling extension as the stack shows it, or `api:command` when the call came from outside
 * this extension host (a third argument claiming an id is ignored). Returns the seq (-1 when
 * dropped/paused); throws an Error naming the bad field.
 */
export function recordCommand(d: CommandDeps, callers: CallerIdentity, type: unknown, data: unknown): number {
  const caller = callers.caller();
  const source = caller ? `api:${caller}` : 'api:command';
  const core = d.rt.core();
  if (type === 'ai.completion') return d.rt.recordFrom(core.toAiRecord(data, d.rt.settings.captureContent), source);
  return d.rt.recordFrom(core.normalizeInput({ type, data: data ?? {} }), source);
}
