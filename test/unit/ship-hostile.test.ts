/**
 * The ClickHouse HTTP client against a hostile or broken server (a fake one on loopback): answers
 * that never end, answers that trickle, control characters in error text. The shipper must fail
 * with a clear, retryable error in bounded time and memory, never hang and never paint the terminal.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cleartextWarning, ClickHouseHttp, serverError } from '../../src/core/ship/clickhouse';
import { ShipError } from '../../src/core/ship/errors';
import { ensureSchema } from '../../src/core/ship/ddl';

async function withServer(handler: http.RequestListener, fn: (url: string) => Promise<void>): Promise<void> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

/** Writes `chunk` every `everyMs` until the client goes away. */
const streaming = (chunk: Buffer | string, everyMs: number): http.RequestListener => (_req, res) => {
  res.writeHead(200);
  const t = setInterval(() => res.write(chunk), everyMs);
  res.on('close', () => clearInterval(t));
};

/** Settles within `ms` or fails the test (instead of hanging the whole run). */
async function settles<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), guard]);
  } finally {
    clearTimeout(timer);
  }
}

test('hostile server: an answer that never ends is cut off at the size cap with a retryable error', async () => {
  await withServer(streaming(Buffer.alloc(1 << 20, 120), 1), async (url) => {
    const ch = new ClickHouseHttp({ url, database: 'd', table: 't', timeoutMs: 60_000 });
    try {
      const r = await settles(ch.query('SELECT 1'), 20_000);
      const e = r.error as ShipError;
      assert.ok(e instanceof ShipError, `expected a ShipError, got ${String(r.error)}`);
      assert.equal(e.code, 'ERR_CLICKHOUSE');
      assert.equal(e.retryable, true);
      assert.match(e.message, /answer larger than/);
    } finally {
      ch.close();
    }
  });
});

test('hostile server: an answer that trickles a byte at a time fails after timeoutMs (the idle timeout never fires)', async () => {
  await withServer(streaming('x', 100), async (url) => {
    const ch = new ClickHouseHttp({ url, database: 'd', table: 't', timeoutMs: 1500 });
    try {
      const r = await settles(ch.query('SELECT 1'), 20_000);
      const e = r.error as ShipError;
      assert.ok(e instanceof ShipError, `expected a ShipError, got ${String(r.error)}`);
      assert.equal(e.code, 'ERR_CLICKHOUSE');
      assert.equal(e.sysCode, 'ETIMEDOUT');
      assert.equal(e.retryable, true);
    } finally {
      ch.close();
    }
  });
});

test('hostile server: control characters in an error answer never reach logs or the terminal', () => {
  const e = serverError(500, 'Code: 999, e.displayText() = \x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202e\u0000tail\r\nsecond line');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  assert.match(e.message, /red/);
  assert.equal(e.chCode, 999);
});

test('hostile server: a redirect is not followed and says so', async () => {
  await withServer((_req, res) => {
    res.writeHead(307, { Location: 'http://evil.example:8123/' });
    res.end();
  }, async (url) => {
    const ch = new ClickHouseHttp({ url, database: 'd', table: 't', password: 'sekret' });
    try {
      const r = await settles(ch.query('SELECT 1'), 20_000);
      const e = r.error as ShipError;
      assert.equal(e.retryable, false);
      assert.equal(e.status, 307);
      assert.match(e.message, /redirect.*not followed/i);
      assert.doesNotMatch(e.message, /sekret/);
    } finally {
      ch.close();
    }
  });
});

test('a password sent over plain http:// to another host is warned about (loopback and https are not)', () => {
  const d = { database: 'd', table: 't', password: 'pw' };
  const warn = (url: string, password = 'pw'): string | undefined => cleartextWarning({ ...d, url, password });
  assert.match(warn('http://clickhouse.lan:8123') ?? '', /unencrypted.*clickhouse\.lan.*https:\/\//);
  assert.match(warn('http://10.0.0.5:8123/ch') ?? '', /10\.0\.0\.5/);
  assert.match(warn('http://[fe80::1]:8123') ?? '', /unencrypted/);
  for (const ok of ['https://clickhouse.lan:8443', 'http://127.0.0.1:8123', 'http://127.9.9.9:8123', 'http://localhost:8123', 'http://[::1]:8123']) assert.equal(warn(ok), undefined, ok);
  assert.equal(warn('http://clickhouse.lan:8123', ''), undefined);
  assert.doesNotMatch(warn('http://clickhouse.lan:8123') ?? '', /pw/);
});

test('hostile server: a 200 answer that is not JSONEachRow fails the schema check with a code, not an internal error', async () => {
  for (const body of ['garbage{', '<html>proxy login</html>', '{"name":"sid","type":"String"}\n{oops']) {
    await withServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(body));
    }, async (url) => {
      const ch = new ClickHouseHttp({ url, database: 'd', table: 't' });
      try {
        const r = await settles(ensureSchema(ch), 20_000);
        const e = r.error as ShipError;
        assert.ok(e instanceof ShipError, `${body}: expected a ShipError, got ${String(r.error)}`);
        assert.equal(e.code, 'ERR_CLICKHOUSE');
        assert.match(e.message, /not JSONEachRow/);
      } finally {
        ch.close();
      }
    });
  }
});
