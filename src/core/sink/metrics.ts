/**
 * The sink's stats in Prometheus text exposition format (version 0.0.4), for the seed's
 * "track lock wait times in Prometheus" wish. Pure; served by the HTTP ingest at GET /metrics.
 */
import type { SinkStats } from './appender';
import type { ShipStatus } from '../ship/status';

export function toPrometheus(s: SinkStats, labels: Record<string, string> = {}): string {
  const lab = Object.entries({ backend: s.backend, ...(s.lockProvider ? { provider: s.lockProvider } : {}), ...labels })
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
    .join(',');
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number, extra = ''): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${lab}${extra}} ${Number.isFinite(value) ? value : 0}`);
  };
  const why = s.backendReason.replace(/["\\\n]/g, '_');
  metric('telemetry_sink_lock_info', 'gauge', 'The lock backend, its flock provider and why they were chosen (always 1).', 1, `,reason="${why}"`);
  metric('telemetry_sink_events_accepted_total', 'counter', 'Events accepted into the queue by this window.', s.accepted);
  metric('telemetry_sink_events_written_total', 'counter', 'Events written to the file.', s.written);
  metric('telemetry_sink_bytes_written_total', 'counter', 'Bytes written to the file.', s.bytes);
  metric('telemetry_sink_batches_total', 'counter', 'Batches written (one write() each).', s.batches);
  metric('telemetry_sink_queue_events', 'gauge', 'Events waiting in memory.', s.queued.events);
  metric('telemetry_sink_events_dropped_total', 'counter', 'Events dropped (recorded by sink.dropped).', s.dropped.total);
  metric('telemetry_sink_lock_acquisitions_total', 'counter', 'Lock acquisitions.', s.lockWait.count);
  metric('telemetry_sink_lock_contended_total', 'counter', 'Acquisitions that found the lock busy at first.', s.contention);
  metric('telemetry_sink_lock_timeouts_total', 'counter', 'Acquisitions that gave up after lock.timeoutMs.', s.lockTimeouts);
  metric('telemetry_sink_lock_wait_seconds_total', 'counter', 'Total time spent waiting for the lock.', s.lockWait.totalMs / 1000);
  out.push('# HELP telemetry_sink_lock_wait_seconds Lock wait quantiles (from a log-linear histogram, within 12.5%).', '# TYPE telemetry_sink_lock_wait_seconds gauge');
  out.push(`telemetry_sink_lock_wait_seconds{${lab},quantile="0.5"} ${s.lockWait.p50Ms / 1000}`);
  out.push(`telemetry_sink_lock_wait_seconds{${lab},quantile="0.99"} ${s.lockWait.p99Ms / 1000}`);
  out.push(`telemetry_sink_lock_wait_seconds{${lab},quantile="1"} ${s.lockWait.maxMs / 1000}`);
  metric('telemetry_sink_torn_tails_fenced_total', 'counter', 'Torn tails of crashed writers fenced.', s.tornTailsFenced);
  metric('telemetry_sink_reopens_total', 'counter', 'Reopens after the file was renamed or deleted.', s.reopens);
  metric('telemetry_sink_rotations_total', 'counter', 'Rotations done by this window.', s.rotations);
  metric('telemetry_sink_errors_total', 'counter', 'I/O and lock faults.', s.errors.total);
  metric('telemetry_sink_fsync_failures_total', 'counter', 'Failed fsyncs (never retried into success).', s.fsyncFailures);
  return out.join('\n') + '\n';
}

/** Shipping counters for GET /metrics (empty while shipping is off). Cumulative ones come from the cursor. */
export function shipToPrometheus(s: ShipStatus | undefined): string {
  if (!s) return '';
  const lab = `destination="${s.destination.replace(/["\\\n]/g, '_')}",role="${s.role}"`;
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${lab}} ${Number.isFinite(value) ? value : 0}`);
  };
  metric('telemetry_sink_ship_active', 'gauge', '1 when this window ships, 0 while it stands by.', s.role === 'shipping' ? 1 : 0);
  metric('telemetry_sink_ship_events_shipped_total', 'counter', 'Events acknowledged by ClickHouse (this file set and destination).', s.shippedTotal);
  metric('telemetry_sink_ship_batches_retried_total', 'counter', 'Batches that needed more than one attempt.', s.retriedBatches);
  metric('telemetry_sink_ship_lines_not_shipped_total', 'counter', 'Damaged lines passed over (verify problem codes).', s.invalidLines);
  metric('telemetry_sink_ship_gaps_total', 'counter', 'Files removed by retention before they were shipped.', s.gaps);
  metric('telemetry_sink_ship_lag_events', 'gauge', 'Events not yet acknowledged (an estimate while catching up).', s.behindEvents);
  metric('telemetry_sink_ship_lag_bytes', 'gauge', 'Bytes of the file set not yet acknowledged.', s.behindBytes);
  metric('telemetry_sink_ship_failing', 'gauge', '1 while batches are being retried or shipping stopped on an error.', s.phase === 'retrying' || s.phase === 'failed' ? 1 : 0);
  const ts = s.shippedUpTo ? Date.parse(s.shippedUpTo) / 1000 : 0;
  metric('telemetry_sink_ship_shipped_up_to_seconds', 'gauge', 'Event time of the last acknowledged event (Unix seconds).', ts);
  return out.join('\n') + '\n';
}
