/**
 * A minimal ClickHouse HTTP client on node:http / node:https: POST a query, POST an INSERT body.
 * Chosen over @clickhouse/client for the extension's sake (see README "Shipping to ClickHouse":
 * bundle size and load time measured); the shipper needs two calls and one error grammar.
 * Credentials travel as HTTP Basic auth, never in the URL or a query parameter.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ShipError } from './errors';

export interface Destination {
  /** http(s)://host:port[/path] — no user info, query or fragment. */
  url: string;
  database: string;
  table: string;
  user?: string;
  password?: string;
  /** Per request: no answer within this → a retryable ETIMEDOUT (default 60 s). */
  timeoutMs?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** ClickHouse's answers to our statements are small; a longer one is cut off (never buffered whole). */
const MAX_ANSWER = 4 << 20;
/** C0/C1 controls and bidi overrides: a server's text must not drive the terminal or reorder a log line. */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Validates a destination; returns the base URL and a credential-free label `url/db.table`. */
export function checkDestination(d: Destination): { base: URL; label: string } {
  let base: URL;
  try {
    base = new URL(d.url);
  } catch {
    throw new ShipError('ERR_SHIP_CONFIG', `ClickHouse URL ${JSON.stringify(d.url)} is not a URL (expected http://host:8123)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ShipError('ERR_SHIP_CONFIG', `ClickHouse URL must be http:// or https:// (got ${base.protocol})`);
  if (base.username || base.password) {
    throw new ShipError('ERR_SHIP_CONFIG', 'ClickHouse URL must not carry a user or password: use TELEMETRY_SINK_CLICKHOUSE_USER / _PASSWORD (CLI) or the "Set ClickHouse Password" command');
  }
  if (base.search || base.hash) throw new ShipError('ERR_SHIP_CONFIG', 'ClickHouse URL must not have a query string or fragment (database and table are options of their own)');
  for (const [what, v] of [['database', d.database], ['table', d.table]] as const) {
    if (!IDENT.test(v)) throw new ShipError('ERR_SHIP_CONFIG', `ClickHouse ${what} ${JSON.stringify(v)} must be a plain identifier (letters, digits, _; not starting with a digit)`);
  }
  const path = base.pathname.replace(/\/+$/, '');
  return { base, label: `${base.protocol}//${base.host}${path}/${d.database}.${d.table}` };
}

/**
 * HTTP Basic auth is only encoded, not encrypted: a password sent over plain http:// to anything but
 * this machine can be read on the way. Shipping still works (a LAN may be trusted); this says so.
 */
export function cleartextWarning(d: Destination): string | undefined {
  if (!d.password) return undefined;
  const u = new URL(d.url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (u.protocol !== 'http:' || loopback) return undefined;
  return `the ClickHouse password travels unencrypted over http:// to ${u.host}: use https:// unless the network between is trusted`;
}

/** ClickHouse error codes that waiting will not cure (auth, syntax, schema, unparsable rows). */
const PERMANENT = new Set([
  6, 16, 26, 27, 36, 38, 41, 44, 47, 53, 62, 69, 70, 72, 117, 164, 192, 193, 194, 195, 407, 497, 516,
]);
/** Unknown table / database: the table may have been dropped; the shipper creates it again. */
export const MISSING_TABLE_CODES = new Set([60, 81]);

/** Turns a non-200 answer into a ShipError with `retryable` set. Exported for tests. */
export function serverError(status: number, body: string): ShipError {
  const m = /Code:\s*(\d+)/.exec(body);
  const chCode = m ? Number(m[1]) : undefined;
  const first = body.trim().split('\n')[0]!.replace(/,?\s*e\.what\(\) = DB::Exception\s*$/, '').replace(UNPRINTABLE, '?');
  const text = status >= 300 && status < 400 ? `HTTP ${status}, a redirect, not followed (point the URL at ClickHouse itself)` : first.slice(0, 400) || '(empty body)';
  const err = new ShipError('ERR_CLICKHOUSE', `ClickHouse answered: ${text}`);
  err.status = status;
  err.chCode = chCode;
  if (chCode !== undefined && PERMANENT.has(chCode)) err.retryable = false;
  else if (chCode !== undefined && MISSING_TABLE_CODES.has(chCode)) err.retryable = true;
  else err.retryable = status >= 500 || status === 408 || status === 429;
  return err;
}

const PERMANENT_NET = /CERT|SSL|TLS|ERR_INVALID|EPROTO/;

function networkError(err: NodeJS.ErrnoException, reused: boolean): ShipError {
  if (err instanceof ShipError) return err;
  if (err.name === 'AbortError') return new ShipError('ERR_CANCELLED', 'cancelled');
  const sys = err.code ?? 'ENETWORK';
  const e = new ShipError('ERR_CLICKHOUSE', `cannot reach ClickHouse: ${err.message}`, err);
  e.retryable = !PERMANENT_NET.test(sys);
  // A kept-alive socket the server had just closed: resend at once (Node's documented pattern).
  (e as ShipError & { reusedSocket?: boolean }).reusedSocket = reused && (sys === 'ECONNRESET' || sys === 'EPIPE');
  return e;
}

export class ClickHouseHttp {
  private readonly base: URL;
  readonly label: string;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly auth: string;
  private readonly timeoutMs: number;

  constructor(readonly dest: Destination) {
    const c = checkDestination(dest);
    this.base = c.base;
    this.label = c.label;
    this.mod = c.base.protocol === 'https:' ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: 2 });
    this.auth = 'Basic ' + Buffer.from(`${dest.user || 'default'}:${dest.password ?? ''}`).toString('base64');
    this.timeoutMs = dest.timeoutMs ?? 60_000;
  }

  get qualifiedTable(): string {
    return `${this.dest.database}.${this.dest.table}`;
  }

  /** Runs one statement; resolves with the answer's text. */
  query(sql: string, signal?: AbortSignal): Promise<string> {
    return this.post(new URLSearchParams(), Buffer.from(sql, 'utf8'), signal);
  }

  /** INSERT INTO db.table (columns) FORMAT TabSeparated with `body` (rows in that column order). */
  async insert(body: Buffer, columns: readonly string[], signal?: AbortSignal): Promise<void> {
    const params = new URLSearchParams({ query: `INSERT INTO ${this.qualifiedTable} (${columns.join(', ')}) FORMAT TabSeparated` });
    await this.post(params, body, signal);
  }

  private post(params: URLSearchParams, body: Buffer, signal?: AbortSignal): Promise<string> {
    const url = new URL(this.base.href);
    url.search = params.toString();
    return new Promise<string>((resolve, reject) => {
      const req = this.mod.request(url, {
        method: 'POST',
        agent: this.agent,
        signal,
        headers: { Authorization: this.auth, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length },
      });
      const timedOut = (what: string): Error => Object.assign(new Error(`${what} within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      req.setTimeout(this.timeoutMs, () => req.destroy(timedOut('no answer')));
      // The idle timeout above never fires for a server that trickles bytes: once the request is
      // sent, the whole answer must arrive within timeoutMs (ClickHouse sends its short answer at once).
      let deadline: NodeJS.Timeout | undefined;
      req.on('finish', () => (deadline = setTimeout(() => req.destroy(timedOut('answer not complete')), this.timeoutMs)));
      req.on('close', () => clearTimeout(deadline));
      req.on('error', (err) => reject(networkError(err, req.reusedSocket)));
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
          if (size <= MAX_ANSWER) return void parts.push(d);
          const e = new ShipError('ERR_CLICKHOUSE', `ClickHouse answer larger than ${MAX_ANSWER >> 20} MiB: cut off (is the URL a ClickHouse HTTP port?)`);
          e.status = res.statusCode;
          e.retryable = true;
          req.destroy(e);
        });
        res.on('error', (err) => reject(networkError(err, false)));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else reject(serverError(res.statusCode ?? 0, text));
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
