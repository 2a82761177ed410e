import * as vscode from 'vscode';
import type { Runtime } from '../runtime';
import { StatsStore, type BuildInfo, type RefreshOptions } from '../core/insights/store';
import type { AiFigures, RangeName, StatsReport } from '../core/insights/report';

const FIRST_TODAY_MS = 20_000;
const TODAY_EVERY_MS = 5 * 60_000;

/**
 * The window's statistics: one StatsStore for the events file, kept in memory so each refresh only
 * reads bytes appended since the last one (the cache beside the file makes the first one warm too).
 * Refreshes run one at a time. Today's AI figures for the status bar are refreshed every 5 minutes,
 * starting 20 s after activation, reading only files changed today that the cache does not cover
 * (and writing what it read to the cache, so the next window starts warm).
 */
export class Insights implements vscode.Disposable {
  private store: StatsStore | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly first: NodeJS.Timeout;
  private readonly timer: NodeJS.Timeout;
  /** The report last drawn per range (what Copy / Save as CSV export). */
  readonly shown = new Map<RangeName, StatsReport>();
  today: AiFigures | null | undefined;
  todayError: string | undefined;

  constructor(private readonly rt: Runtime) {
    this.first = setTimeout(() => void this.refreshToday(), FIRST_TODAY_MS);
    this.timer = setInterval(() => void this.refreshToday(), TODAY_EVERY_MS);
  }

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

  private async refreshToday(): Promise<void> {
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

  dispose(): void {
    clearTimeout(this.first);
    clearInterval(this.timer);
  }
}

let current: Insights | undefined;

export function setInsights(i: Insights | undefined): void {
  current = i;
}

/** The status bar tooltip's line: today's accepted completions and acceptance rate, once known. */
export function todayTooltipLine(): string | undefined {
  const t = current?.today;
  if (t === undefined) return undefined;
  if (t === null) return '- AI completions today: none yet';
  const rate = t.acceptanceRate === null ? 'n/a' : `${(t.acceptanceRate * 100).toFixed(1)}%`;
  return `- AI completions today: ${(t.accepted + t.partiallyAccepted).toLocaleString('en-US')} accepted · acceptance rate ${rate}`;
}
