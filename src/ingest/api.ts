import type { Runtime } from '../runtime';
import { toAiRecord } from '../core/ingest/aiEvent';
import { normalizeInput } from '../core/ingest/input';
import { stripContent } from '../core/privacy';
import type { LocalTelemetrySinkApi } from '../core/ingest/local-telemetry-sink';

/** The object activate() returns. Invalid input throws an Error (code ERR_INVALID_EVENT) naming the field. */
export function createApi(rt: Runtime): LocalTelemetrySinkApi {
  const src = (extensionId?: string): string => (extensionId && /^[A-Za-z0-9._-]+$/.test(extensionId) ? `api:${extensionId}` : 'api:unknown');
  return {
    version: 1,
    get file() {
      return rt.file;
    },
    recordAiEvent(event, extensionId) {
      const r = toAiRecord(event, rt.settings.captureContent);
      return rt.recordStrict(r.type, r.data, src(extensionId));
    },
    record(type, data, extensionId) {
      const ev = normalizeInput({ type, data: data ?? {} });
      stripContent(ev.data, rt.settings.captureContent);
      return rt.recordStrict(ev.type, ev.data, src(extensionId));
    },
  };
}
