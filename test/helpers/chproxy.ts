/**
 * A loopback HTTP proxy in front of a test ClickHouse that can misbehave on cue: drop connections
 * (server down), answer 500 "Too many parts" (server busy), or start failing INSERTs after N of them.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'busy';

export class ChProxy {
  mode: ProxyMode = 'pass';
  /** INSERTs forwarded so far. */
  inserts = 0;
  /** INSERTs after this many answer 500 (retryable). */
  failInsertsAfter = Infinity;
  /** Requests turned away (dropped or 500). */
  refused = 0;
  /** Hold each INSERT's answer this long after the server gave it (a slow network: the server has
   * the rows, the shipper does not know yet — the window in which a crash makes it send them again). */
  answerDelayMs = 0;
  /** Rows of INSERTs the server acknowledged (200), re-sends included. */
  rowsAcked = 0;
  private constructor(private readonly server: http.Server, private readonly target: number) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static start(targetPort: number): Promise<ChProxy> {
    const server = http.createServer();
    const p = new ChProxy(server, targetPort);
    server.on('request', (req, res) => p.handle(req, res));
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(p)));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const isInsert = decodeURIComponent((req.url ?? '').replace(/\+/g, ' ')).includes('INSERT INTO');
      if (this.mode === 'drop') {
        this.refused++;
        req.socket.destroy();
        return;
      }
      if (this.mode === 'busy' || (isInsert && this.inserts >= this.failInsertsAfter)) {
        this.refused++;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('Code: 252, e.displayText() = DB::Exception: Too many parts (600). Merges are processing significantly slower than inserts., e.what() = DB::Exception\n');
        return;
      }
      if (isInsert) this.inserts++;
      const body = Buffer.concat(parts);
      const fwd = http.request({ host: '127.0.0.1', port: this.target, method: req.method, path: req.url, headers: req.headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (d: Buffer) => chunks.push(d));
        up.on('end', () => {
          if (isInsert && up.statusCode === 200) this.rowsAcked += body.toString('utf8').split('\n').filter(Boolean).length;
          setTimeout(() => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(Buffer.concat(chunks));
          }, isInsert ? this.answerDelayMs : 0);
        });
      });
      fwd.on('error', () => req.socket.destroy());
      fwd.end(body);
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
