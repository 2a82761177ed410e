/**
 * Loopback HTTP ingest (pure Node, no vscode). Binds 127.0.0.1 only. With several windows, the
 * port itself is the election: one window serves, the others stand by and take over when it closes.
 * A port held by anything that cannot prove it knows the token is reported as `blocked`.
 *
 *   POST /telemetry/vscode/event   the seed's payload {event_type, extension, is_local, success, …}
 *   POST /v1/events                {"type": "a.b", "data": {…}} or an array of up to 1000 (all or nothing)
 *   GET  /health                   {"ok": true, "state"} (no token needed; with it also "requests", "rejected")
 *   GET  /metrics                  this window's sink stats, Prometheus text format
 * Every request but /health needs `Authorization: Bearer <token>` (scheme case-insensitive, compared
 * in constant time). Rejections are JSON {"error": {"code", "message"}}: a code and a message about
 * the request, never a path or an OS error; the connection is then closed without reading the rest.
 * Defences against slow or endless clients: a connection cap, a few seconds for headers and for the
 * whole request, a 64 KiB body limit.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { createHash } from 'node:crypto';
import { normalizeInput, fromSeedPayload, NormalizedEvent, parseStrict } from './input';
import { CHALLENGE_HEADER, PROOF_HEADER, isSibling, listenerUid, proof, sameSecret } from './peer';

export const MAX_BODY = 64 * 1024;
const MAX_BATCH = 1000;

export interface IngestLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}
export const DEFAULT_LIMITS: IngestLimits = { maxConnections: 32, headersTimeoutMs: 3000, requestTimeoutMs: 5000 };

export interface IngestOptions {
  port: number;
  /** The bearer token (or a getter read per request). Without one, every request but /health is refused. */
  token: string | (() => string | undefined);
  /**
   * Records a batch all or nothing: returns the seqs (-1 = dropped, e.g. while paused), or null when
   * the queue cannot take the batch. Throws on invalid input (code ERR_INVALID_EVENT, the message
   * naming the event and field); any other error is reported to the client as `unavailable`.
   */
  recordBatch: (evs: NormalizedEvent[]) => number[] | null;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** How often a standby or blocked server retries the port (ms). */
  retryMs?: number;
  /** Prometheus text for GET /metrics (the serving window's sink). */
  metrics?: () => string;
  limits?: Partial<IngestLimits>;
}

export type IngestState = 'serving' | 'standby' | 'blocked' | 'stopped';

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export class IngestServer {
  private server: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  state: IngestState = 'stopped';
  /** Why the state is `blocked` (for the log and the status bar). */
  blockedReason: string | undefined;
  requests = 0;
  rejected = 0;
  private readonly listeners = new Set<(s: IngestState) => void>();
  private readonly limits: IngestLimits;
  private stopped = false;
  /** Sockets carrying a request that passed the token check and is not answered yet. */
  private readonly busy = new WeakSet<net.Socket>();

  constructor(private readonly o: IngestOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
  }

  private token(): string | undefined {
    return typeof this.o.token === 'function' ? this.o.token() : this.o.token;
  }

  onState(l: (s: IngestState) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private setState(s: IngestState): void {
    if (s === this.state) return;
    this.state = s;
    if (s === 'blocked') this.o.log?.('warn', `HTTP ingest blocked: ${this.blockedReason}`);
    else this.o.log?.('info', `HTTP ingest ${s}${s === 'serving' ? ` on http://127.0.0.1:${this.o.port}` : ''}`);
    for (const l of this.listeners) l(s);
  }

  /** Tries to serve; when the port is taken, stands by (another window) or reports it blocked. Resolves with the first state. */
  start(): Promise<IngestState> {
    this.stopped = false;
    return new Promise((resolve) => {
      let first = true;
      const settle = (): void => {
        if (first) resolve(this.state);
        first = false;
      };
      const attempt = (): void => {
        if (this.stopped) return settle();
        const srv = this.createServer();
        srv.on('error', (err: NodeJS.ErrnoException) => {
          srv.close();
          if (this.stopped) return settle();
          if (err.code !== 'EADDRINUSE') {
            this.o.log?.('error', `HTTP ingest cannot listen on 127.0.0.1:${this.o.port}: ${err.code ?? err.message}`);
            this.setState('stopped');
            return settle();
          }
          void this.whoHolds().then((foreign) => {
            // stop() may have run while the holder was asked: then nothing more happens.
            if (this.stopped) return settle();
            this.blockedReason = foreign;
            this.setState(foreign ? 'blocked' : 'standby');
            this.timer = setTimeout(attempt, this.o.retryMs ?? 2000);
            this.timer.unref?.();
            settle();
          });
        });
        srv.listen(this.o.port, '127.0.0.1', () => {
          if (this.stopped) {
            srv.close();
            return settle();
          }
          this.server = srv;
          this.blockedReason = undefined;
          this.setState('serving');
          settle();
        });
      };
      this.state = 'standby';
      attempt();
    });
  }

  /** undefined when another window of ours serves the port; else why the port is unusable. */
  private async whoHolds(): Promise<string | undefined> {
    const token = this.token();
    if (token && (await isSibling(this.o.port, token))) return undefined;
    const uid = listenerUid(this.o.port);
    const who = uid === undefined ? '' : ` (uid ${uid}${uid === process.getuid?.() ? ', this user' : ', another user'})`;
    return `port ${this.o.port} is held by another process${who}, not a Telemetry Sink window: nothing posted there reaches this sink. Stop it or choose another telemetrySink.http.port.`;
  }

  private createServer(): http.Server {
    const l = this.limits;
    const srv = http.createServer(
      { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: 2000, connectionsCheckingInterval: Math.min(500, l.headersTimeoutMs), maxHeaderSize: 8192 },
      (req, res) => this.handle(req, res),
    );
    this.capConnections(srv, l.maxConnections);
    // A connection that sends nothing at all never starts the headers timer: idle sockets go too.
    srv.setTimeout(l.headersTimeoutMs, (socket) => socket.destroy());
    return srv;
  }

  /**
   * At most `cap` connections. A connection over the cap closes the oldest one that carries no
   * request past the token check (silent, still sending headers, idle keep-alive), so sockets that
   * never send a request — another local user reconnecting as fast as they are closed — cannot
   * lock clients out, and a client's request in progress is never cut. Only when every connection
   * carries an accepted request is the newcomer closed. Node's own cap stays as a hard bound.
   */
  private capConnections(srv: http.Server, cap: number): void {
    const live = new Set<net.Socket>(); // insertion order: oldest first
    srv.maxConnections = 2 * cap;
    srv.on('connection', (sock: net.Socket) => {
      if (live.size >= cap) {
        let victim = sock;
        for (const s of live) {
          if (this.busy.has(s)) continue;
          victim = s;
          break;
        }
        live.delete(victim);
        victim.destroy();
        if (victim === sock) return;
      }
      live.add(sock);
      sock.once('close', () => live.delete(sock));
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
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
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extra });
      res.end(text);
    };
    const fail = (e: HttpError): void => {
      if (res.headersSent) return;
      this.rejected++;
      // Closed without reading the rest: an endless body costs nothing after the refusal.
      req.removeAllListeners('data');
      res.once('finish', () => {
        if (!req.complete) req.socket.destroy();
      });
      reply(e.status, { error: { code: e.code, message: e.message } }, { connection: 'close' });
    };
    const url = (req.url ?? '/').split('?')[0];
    try {
      this.checkHeaders(req, url === '/health' && req.method === 'GET');
    } catch (e) {
      return fail(e as HttpError);
    }
    if (req.method === 'GET' && url === '/health') return this.health(req, reply);
    // Past the token check: this socket is not closed to make room until its answer is sent.
    const sock = req.socket;
    this.busy.add(sock);
    res.once('close', () => this.busy.delete(sock));
    if (req.method === 'GET' && url === '/metrics' && this.o.metrics) {
      const text = this.o.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    if (url !== '/telemetry/vscode/event' && url !== '/v1/events') return fail(new HttpError(404, 'not_found', 'no such route'));
    if (req.method !== 'POST') return fail(new HttpError(405, 'method_not_allowed', 'use POST'));
    const ctype = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ctype !== 'application/json') return fail(new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json'));
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return fail(new HttpError(413, 'payload_too_large', `body over ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) return fail(new HttpError(413, 'payload_too_large', `body over ${MAX_BODY} bytes`));
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      try {
        const seqs = this.ingest(url, Buffer.concat(chunks));
        reply(202, { accepted: seqs.filter((s) => s >= 0).length, dropped: seqs.filter((s) => s < 0).length, seq: seqs });
      } catch (e) {
        fail(e as HttpError);
      }
    });
  }

  /** Parses a complete body and records it all or nothing; every failure is an HttpError with a code. */
  private ingest(url: string, raw: Buffer): number[] {
    let body: unknown;
    try {
      body = parseStrict(raw.toString('utf8'));
    } catch (e) {
      const msg = (e as Error).message;
      throw msg.startsWith('not JSON') ? new HttpError(400, 'invalid_json', `body is ${msg}`) : new HttpError(400, 'invalid_event', `body: ${msg}`);
    }
    let seqs: number[] | null;
    try {
      seqs = this.o.recordBatch(url === '/telemetry/vscode/event' ? [seed(body)] : lite(body));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if ((e as { code?: string }).code === 'ERR_INVALID_EVENT') throw new HttpError(400, 'invalid_event', (e as Error).message);
      // Paths and OS errors stay in the log: the client learns only that writing failed.
      throw new HttpError(503, 'unavailable', 'the events file cannot be written now (see the Telemetry Sink log); nothing was recorded');
    }
    if (!seqs) throw new HttpError(503, 'queue_full', 'the queue cannot take this batch now; nothing was recorded, retry later');
    return seqs;
  }

  /** Liveness without the token; answers a sibling window's challenge with the proof. */
  private health(req: http.IncomingMessage, reply: (status: number, body: unknown, extra?: Record<string, string>) => void): void {
    const challenge = req.headers[CHALLENGE_HEADER];
    const token = this.token();
    const extra: Record<string, string> = typeof challenge === 'string' && /^[0-9a-f]{32,128}$/.test(challenge) && token ? { [PROOF_HEADER]: proof(token, challenge, this.o.port) } : {};
    // The counters only with the token: open to every local user, they would say when this user posts.
    const counters = this.authorized(req) ? { requests: this.requests, rejected: this.rejected } : {};
    reply(200, { ok: true, state: this.state, ...counters }, extra);
  }

  private checkHeaders(req: http.IncomingMessage, open: boolean): void {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
    const host = (req.headers.host ?? '').toLowerCase();
    const okHosts = [`127.0.0.1:${this.o.port}`, `localhost:${this.o.port}`];
    if (!okHosts.includes(host)) throw new HttpError(421, 'bad_host', `Host must be 127.0.0.1:${this.o.port} or localhost:${this.o.port}`);
    // Browsers send Origin on cross-origin requests; local tools do not. No CORS is ever granted.
    if (req.headers.origin !== undefined) throw new HttpError(403, 'origin_not_allowed', 'requests from web pages are not accepted');
    if (open) return;
    if (!this.authorized(req)) throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token');
  }

  private authorized(req: http.IncomingMessage): boolean {
    const token = this.token();
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    // Both sides hashed first: equal lengths for timingSafeEqual, and nothing learnt from timing.
    const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
    return !!token && !!m && sameSecret(digest(m[1]!), digest(token));
  }
}

function seed(body: unknown): NormalizedEvent {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_event', 'expected a JSON object');
  if (!('event_type' in body)) throw new HttpError(400, 'invalid_event', 'missing field "event_type"');
  return fromSeedPayload(body as Record<string, unknown>);
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
