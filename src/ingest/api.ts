import type { Runtime } from '../runtime';
import type { CallerIdentity } from './caller';
import type { LocalTelemetrySinkApi } from '../core/ingest/local-telemetry-sink';

/**
 * The object activate() returns. Every call goes through the door policy (reserved types, content);
 * `source` is the calling extension as the stack shows it (caller.ts), never the id a caller claims.
 * Invalid input throws an Error (code ERR_INVALID_EVENT) naming the field.
 */
export function createApi(rt: Runtime, callers: CallerIdentity): LocalTelemetrySinkApi {
  const source = (): string => `api:${callers.caller() ?? 'unknown'}`;
  return {
    version: 1,
    get file() {
      return rt.file;
    },
    recordAiEvent(event) {
      return rt.recordFrom(rt.core().toAiRecord(event, rt.settings.captureContent), source());
    },
    record(type, data) {
      return rt.recordFrom(rt.core().normalizeInput({ type, data: data ?? {} }), source());
    },
  };
}
