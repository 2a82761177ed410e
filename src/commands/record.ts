import type { CommandDeps } from './deps';
import { normalizeInput } from '../core/ingest/input';
import { toAiRecord } from '../core/ingest/aiEvent';
import { stripContent } from '../core/privacy';

/**
 * telemetrySink.record(type, data[, extensionId]) for extensions that want no hard dependency.
 * `ai.completion` with data.kind is validated as an AI event. Returns the seq (-1 when dropped/paused);
 * throws an Error naming the bad field.
 */
export function recordCommand(d: CommandDeps, type: unknown, data: unknown, extensionId?: unknown): number {
  const source = typeof extensionId === 'string' && /^[A-Za-z0-9._-]+$/.test(extensionId) ? `api:${extensionId}` : 'api:command';
  if (type === 'ai.completion') {
    const r = toAiRecord(data, d.rt.settings.captureContent);
    return d.rt.recordStrict(r.type, r.data, source);
  }
  const ev = normalizeInput({ type, data: data ?? {} });
  stripContent(ev.data, d.rt.settings.captureContent);
  return d.rt.recordStrict(ev.type, ev.data, source);
}
