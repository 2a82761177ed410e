import type { Runtime } from '../runtime';
import { StatsStore, type BuildInfo, type RefreshOptions } from '../core/insights/store';
import type { AiFigures, RangeName, StatsReport } from '../core/insights/report';

/**
 * The window's statistics: one StatsStore for the events file, kept in memory so each refresh only
 * reads bytes appended since the last one (the cache beside the file makes the first one warm too).
 * Refreshes run one at a time. refreshToday (every 5 minutes from 20 s after activation, see
 * src/lazy/features.ts) reads only files changed today that the cache does not cover, and writes
 * what it read to the cache, so the next window starts warm. Lives in dist/insights.js.
 */
export class Insights {
  private store: StatsStore | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** The report last drawn per range (what Copy / Save as CSV export). */
  readonly shown = new Map<RangeName, StatsReport>();
  today: AiFigures | null | undefined;
  todayError: string | undefined;

  constructor(private readonly rt: Runtime) {}

  private storeFor(file: string): StatsStore {
    if (!this.store || this.store.file !== file) {
      this.store = new StatsStore(file);
      this.shown.clear();
      this.today = undefined;
    }
    return this.store;
  }

  /** Refreshes the store (serialised with any refresh in flight) and returns it with what was read. */
  refresh(opts: RefreshOptions): Promise<{ store: StatsStore; info: BuildInfo }> {
    const run = async (): Promise<{ store: StatsStore; info: BuildInfo }> => {
      const store = this.storeFor(this.rt.file);
      const info = await store.refresh(opts);
      this.today = store.today();
      this.todayError = undefined;
      return { store, info };
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Writes the cache beside the file if the last refreshes changed anything (after drawing). */
  persist(): void {
    const r = this.store?.persist();
    if (r?.cacheWriteError) this.rt.log.warn(`statistics: ${r.cacheWriteError.message} [${r.cacheWriteError.code}]`);
  }

  /** Refreshes today's figures (`today`); reports a failure in the log once per error code. */
  async refreshToday(): Promise<void> {
    if (!this.rt.sink) return;
    try {
      const clock = this.storeFor(this.rt.file).clock;
      await this.refresh({ since: clock.startOfDay(clock.dayKey(Date.now())) });
      this.persist();
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERR';
      if (this.todayError !== code) this.rt.log.warn(`statistics for the status bar: ${(err as Error).message} [${code}]`);
      this.todayError = code;
    }
  }
}
