/**
 * A throwaway ClickHouse server for tests and the ship benchmark: installed once with apt
 * (test/harness/install-clickhouse.sh, root only), started on free loopback ports with a temporary
 * data folder and a config of its own, stopped by pid. On CI (CI=true) a missing server is a failure;
 * elsewhere the tests skip with the reason.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';

const ROOT = path.resolve(__dirname, '..', '..', '..');
let installed: { ok: boolean; reason?: string } | undefined;

export function onCi(): boolean {
  return process.env.CI === 'true' || process.env.CI === '1';
}

function which(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin']) {
    const p = path.join(d, name);
    if (d && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Installs clickhouse-server/-client once per process when missing (root only). */
export function ensureClickHouse(): { ok: boolean; reason?: string } {
  if (installed) return installed;
  const r = spawnSync('bash', [path.join(ROOT, 'test/harness/install-clickhouse.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status === 3) installed = { ok: false, reason: 'clickhouse-server is not installed and this is not root (apt-get install clickhouse-server clickhouse-client)' };
  else if (r.status !== 0) installed = { ok: false, reason: `install-clickhouse.sh failed (${r.status})` };
  else if (!which('clickhouse-server') || !which('clickhouse-client')) installed = { ok: false, reason: 'clickhouse-server installed but not found on PATH' };
  else installed = { ok: true };
  return installed;
}

/** For node:test: returns a skip reason (or throws on CI) when there is no ClickHouse to test against. */
export function clickHouseOrSkip(): string | undefined {
  const r = ensureClickHouse();
  if (r.ok) return undefined;
  if (onCi()) throw new Error(`CI needs ClickHouse for the ship tier: ${r.reason}`);
  return r.reason;
}

export function clientBinary(): string {
  return which('clickhouse-client')!;
}

export class ClickHouseServer {
  proc: ChildProcess | undefined;
  private log = '';
  private constructor(readonly dir: string, readonly httpPort: number, readonly tcpPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  static async create(): Promise<ClickHouseServer> {
    for (let attempt = 1; ; attempt++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lts-clickhouse-'));
      const [h, t] = await twoFreePorts();
      try {
        return await ClickHouseServer.createIn(dir, h, t);
      } catch (err) {
        fs.rmSync(dir, { recursive: true, force: true });
        // Another process took a port between our probe and the server's bind: take new ones.
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
      }
    }
  }

  private static async createIn(dir: string, httpPort: number, tcpPort: number): Promise<ClickHouseServer> {
    const s = new ClickHouseServer(dir, httpPort, tcpPort);
    fs.mkdirSync(path.join(dir, 'data'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    fs.writeFileSync(
      path.join(dir, 'config.xml'),
      `<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${s.httpPort}</http_port><tcp_port>${s.tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'users.xml'),
      `<yandex><profiles><default/></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <shipper><password>s3cret-pw</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></shipper>
  </users>
  <quotas><default/></quotas></yandex>\n`,
    );
    await s.start();
    return s;
  }

  async start(): Promise<void> {
    const bin = which('clickhouse-server');
    if (!bin) throw new Error('clickhouse-server not found');
    const proc = spawn(bin, [`--config-file=${path.join(this.dir, 'config.xml')}`], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.log = (this.log + d).slice(-20_000)));
    proc.stderr!.on('data', (d) => (this.log = (this.log + d).slice(-20_000)));
    const t0 = Date.now();
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`clickhouse-server exited (${proc.exitCode}): ${this.log.slice(-2000)}`);
      try {
        if ((await this.query('SELECT 1')).trim() === '1') return;
      } catch {
        /* not up yet */
      }
      if (Date.now() - t0 > 60_000) throw new Error(`clickhouse-server did not answer within 60 s: ${this.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 20 s) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs one statement over HTTP as `default`; rejects with ClickHouse's message on an error. */
  query(sql: string): Promise<string> {
    return new Promise((resolve, reject) => {
      // A fresh connection each time: a kept-alive one may have been closed by the server meanwhile.
      const req = http.request({ host: '127.0.0.1', port: this.httpPort, method: 'POST', path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 500)}`))));
      });
      req.on('error', reject);
      req.end(sql);
    });
  }

  async rows<T>(sql: string): Promise<T[]> {
    const text = await this.query(`${sql} FORMAT JSONEachRow`);
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  async scalar(sql: string): Promise<number> {
    return Number((await this.query(sql)).trim());
  }
}

/** Two distinct free loopback ports (both probes held open together, so they cannot be the same). */
async function twoFreePorts(): Promise<[number, number]> {
  const open = (): Promise<net.Server> => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
  const a = await open();
  const b = await open();
  const ports = [(a.address() as net.AddressInfo).port, (b.address() as net.AddressInfo).port] as [number, number];
  await Promise.all([a, b].map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const servers = new Set<ClickHouseServer>();
/** Starts a server that is stopped when the process exits (even on a failed assertion). */
export async function startClickHouse(): Promise<ClickHouseServer> {
  const s = await ClickHouseServer.create();
  servers.add(s);
  return s;
}
process.on('exit', () => {
  for (const s of servers) {
    try {
      s.proc?.kill('SIGKILL');
      fs.rmSync(s.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
});
