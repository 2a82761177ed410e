import { after, before } from 'node:test';
import { clickHouseOrSkip, ClickHouseServer, startClickHouse } from './clickhouse';

/**
 * For a ship-tier test file (node:test): one ClickHouse for the file, started before its tests and
 * removed after them. `skip` is clickHouseOrSkip()'s answer; `ch` forwards to the running server.
 */
export function clickHouseForFile(): { skip: string | undefined; ch: ClickHouseServer } {
  const skip = clickHouseOrSkip();
  let server: ClickHouseServer | undefined;
  before(async () => {
    if (!skip) server = await startClickHouse();
  });
  after(async () => {
    await server?.destroy();
  });
  const ch = new Proxy({} as ClickHouseServer, {
    get: (_t, key) => {
      if (!server) throw new Error('ClickHouse is not running (skipped, or used before the file started it)');
      const v: unknown = Reflect.get(server, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(server) : v;
    },
  });
  return { skip, ch };
}
