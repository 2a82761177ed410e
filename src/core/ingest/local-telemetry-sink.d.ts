/**
 * Public API of the Local Telemetry Sink extension (version 1).
 *
 *   const api = vscode.extensions.getExtension<LocalTelemetrySinkApi>('local-telemetry-sink.local-telemetry-sink')?.exports;
 *   api?.recordAiEvent({ kind: 'accepted', 'gen_ai.request.model': 'qwen2.5-coder:7b', latency_ms: 180, chars: 42, is_local: true });
 *
 * Both calls return the event's seq, or -1 when capture is paused or the queue is full (then a
 * sink.dropped event accounts for it). Invalid input throws an Error whose `code` is
 * 'ERR_INVALID_EVENT' and whose message names the field. Types the extension writes itself
 * (session.*, sink.*, editor.*, window.*, terminal.*, task.*, debug.*, workspace.*) are refused.
 * With telemetrySink.captureContent off (the default) content is left out: see README "What can be
 * written". Events carry `source: "api:<your extension id>"`, taken from the call stack; the
 * `extensionId` argument is ignored (kept so existing callers compile).
 */
export type AiKind = 'shown' | 'accepted' | 'partially_accepted' | 'rejected' | 'error';

export interface AiEvent {
  kind: AiKind;
  'gen_ai.provider.name'?: string;
  'gen_ai.request.model'?: string;
  'gen_ai.usage.input_tokens'?: number;
  'gen_ai.usage.output_tokens'?: number;
  latency_ms?: number;
  chars?: number;
  lines?: number;
  language_id?: string;
  is_local?: boolean;
  success?: boolean;
  correlation_id?: string;
  /** Completion text: written only when the user turned on telemetrySink.captureContent. */
  text?: string;
  /** Other OpenTelemetry GenAI attributes: metadata ones are written; content ones (gen_ai.prompt, …) only with captureContent. */
  [genAiAttribute: `gen_ai.${string}`]: string | number | boolean | undefined;
}

export interface LocalTelemetrySinkApi {
  readonly version: 1;
  /** The events file this window writes to. */
  readonly file: string;
  /** Records ai.completion.<kind> with detection "reported". */
  recordAiEvent(event: AiEvent, extensionId?: string): number;
  /** Records any dotted lowercase event type with an object payload. */
  record(type: string, data?: Record<string, unknown>, extensionId?: string): number;
}
