/**
 * Loopback HTTP ingest (pure Node, no vscode). Binds 127.0.0.1 only. With several windows, the
 * port itself is the election: one window serves, the others retry and take over when it closes.
 *
 *   POST /telemetry/vscode/event   the seed's payload {event_type, extension, is_local, success, …}
 *   POST /v1/events                {"type": "a.b", "data": {…}} or an array of up to 1000 of them
 *   GET  /health                   {"ok": true, "state", "requests", "rejected"}
 *   GET  /metrics                  this window's sink stats, Prometheus text format
 * Rejections are JSON {"error": {"code", "message"}} with a 4xx status.
 */
import * as http from 'node:http';
import { normalizeInput, fromSeedPayload, InputError, NormalizedEvent } from './input';

export const MAX_BODY = 64 * 1024;
const MAX_BATCH = 1000;

export interface IngestOptions {
  port: number;
  token?: string;
  /** Writes one event; returns its seq (or -1 when dropped). Throws on invalid input. */
  record: (ev: NormalizedEvent) => number;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** How often a standby window retries the port (ms). */
  retryMs?: number;
  /** Prometheus text for GET /metrics (the serving window's sink). */
  metrics?: () => string;
}

export type IngestState = 'serving' | 'standby' | 'stopped';

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class IngestServer {
  private server: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  state: IngestState = 'stopped';
  requests = 0;
  rejected = 0;
  private readonly listeners = new Set<(s: IngestState) => void>();

  constructor(private readonly o: IngestOptions) {}

  onState(l: (s: IngestState) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private setState(s: IngestState): void {
    if (s === this.state) return;
    this.state = s;
    this.o.log?.('info', `HTTP ingest ${s}${s === 'serving' ? ` on http://127.0.0.1:${this.o.port}` : ''}`);
    for (const l of this.listeners) l(s);
  }

  /** Tries to serve; on EADDRINUSE stands by and keeps retrying. Resolves with the first state. */
  start(): Promise<IngestState> {
    return new Promise((resolve) => {
      const attempt = (first: boolean): void => {
        if (this.state === 'stopped' && !first) return;
        const srv = http.createServer((req, res) => this.handle(req, res));
        srv.on('error', (err: NodeJS.ErrnoException) => {
          srv.close();
          if (err.code === 'EADDRINUSE') {
            this.setState('standby');
            this.timer = setTimeout(() => attempt(false), this.o.retryMs ?? 2000);
            this.timer.unref?.();
          } else {
            this.o.log?.('error', `HTTP ingest cannot listen on 127.0.0.1:${this.o.port}: ${err.message}`);
            this.setState('stopped');
          }
          if (first) resolve(this.state);
        });
        srv.listen(this.o.port, '127.0.0.1', () => {
          this.server = srv;
          this.setState('serving');
          if (first) resolve('serving');
        });
      };
      this.state = 'standby';
      attempt(true);
    });
  }

  stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const srv = this.server;
    this.server = undefined;
    this.setState('stopped');
    return new Promise((r) => {
      if (!srv) return r();
      srv.close(() => r());
      srv.closeAllConnections?.();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(text);
    };
    const fail = (e: HttpError): void => {
      this.rejected++;
      reply(e.status, { error: { code: e.code, message: e.message } });
      req.resume();
    };
    try {
      this.checkHeaders(req);
    } catch (e) {
      return fail(e as HttpError);
    }
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/health') return reply(200, { ok: true, state: this.state, requests: this.requests, rejected: this.rejected });
    if (req.method === 'GET' && url === '/metrics' && this.o.metrics) {
      const text = this.o.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const routes: Record<string, boolean> = { '/telemetry/vscode/event': true, '/v1/events': true };
    if (!routes[url!]) return fail(new HttpError(404, 'not_found', `no route ${url}`));
    if (req.method !== 'POST') return fail(new HttpError(405, 'method_not_allowed', 'use POST'));
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ctype !== 'application/json') return fail(new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json'));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) return fail(new HttpError(413, 'payload_too_large', `body over ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (c: Buffer) => {
      if (aborted) return;
      size += c.length;
      if (size > MAX_BODY) {
        aborted = true;
        fail(new HttpError(413, 'payload_too_large', `body over ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (aborted) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        return fail(new HttpError(400, 'invalid_json', `body is not JSON: ${(e as Error).message}`));
      }
      try {
        const events = url === '/telemetry/vscode/event' ? [seed(body)] : lite(body);
        const seqs = events.map((ev) => this.o.record(ev));
        reply(202, { accepted: seqs.filter((s) => s >= 0).length, dropped: seqs.filter((s) => s < 0).length, seq: seqs });
      } catch (e) {
        if (e instanceof HttpError) return fail(e);
        return fail(new HttpError(400, 'invalid_event', (e as Error).message));
      }
    });
  }

  private checkHeaders(req: http.IncomingMessage): void {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
    const host = (req.headers.host ?? '').toLowerCase();
    const okHosts = [`127.0.0.1:${this.o.port}`, `localhost:${this.o.port}`];
    if (!okHosts.includes(host)) throw new HttpError(421, 'bad_host', `Host must be 127.0.0.1:${this.o.port} or localhost:${this.o.port}`);
    // Browsers send Origin on cross-origin requests; local tools do not. No CORS is ever granted.
    if (req.headers.origin !== undefined) throw new HttpError(403, 'origin_not_allowed', 'requests from web pages are not accepted');
    if (this.o.token) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${this.o.token}`) throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token');
    }
  }
}

function seed(body: unknown): NormalizedEvent {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_event', 'expected a JSON object');
  const o = body as Record<string, unknown>;
  if (!('event_type' in o)) throw new HttpError(400, 'invalid_event', 'missing field "event_type"');
  try {
    return fromSeedPayload(o);
  } catch (e) {
    throw new HttpError(400, 'invalid_event', (e as InputError).message);
  }
}

function lite(body: unknown): NormalizedEvent[] {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0 || list.length > MAX_BATCH) throw new HttpError(400, 'invalid_event', `expected 1 to ${MAX_BATCH} events`);
  return list.map((e, i) => {
    try {
      return normalizeInput(e);
    } catch (err) {
      throw new HttpError(400, 'invalid_event', `${Array.isArray(body) ? `event ${i}: ` : ''}${(err as Error).message}`);
    }
  });
}
