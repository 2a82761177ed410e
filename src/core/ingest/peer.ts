/**
 * Who holds the ingest port when we cannot bind it (pure Node): another window of ours — which
 * proves it knows the token without anyone sending it — or some other process, possibly another
 * user's, which must not be mistaken for a window (it would receive the events meant for us).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CHALLENGE_HEADER = 'x-telemetry-sink-challenge';
export const PROOF_HEADER = 'x-telemetry-sink-proof';

/**
 * HMAC-SHA256 of the challenge and the port under the token (hex). The port is in it because
 * windows sharing a token may serve different ports, and every window answers /health to anyone:
 * without it a squatter on one port could relay a challenge to a window on another and pass.
 */
export function proof(token: string, challenge: string, port: number): string {
  return createHmac('sha256', token).update(`telemetry-sink health ${port} ${challenge}`).digest('hex');
}

/** Constant-time comparison of two strings (unequal lengths are simply unequal). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Asks the holder of 127.0.0.1:port for GET /health with a random challenge; true only when the
 * answer carries the proof for `token`. The token itself is never sent.
 */
export function isSibling(port: number, token: string, timeoutMs = 1500): Promise<boolean> {
  const challenge = randomBytes(16).toString('hex');
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: timeoutMs, headers: { host: `127.0.0.1:${port}`, [CHALLENGE_HEADER]: challenge } }, (res) => {
      res.resume();
      resolve(sameSecret(String(res.headers[PROOF_HEADER] ?? ''), proof(token, challenge, port)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The uid that owns the socket listening on `port` (Linux: /proc/net/tcp and tcp6), when known. */
export function listenerUid(port: number): number | undefined {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid …; st 0A = LISTEN
      const cols = line.trim().split(/\s+/);
      if (cols.length > 7 && cols[3] === '0A' && cols[1]!.endsWith(hex)) return Number(cols[7]);
    }
  }
  return undefined;
}
