import type { Runtime } from '../runtime';
import type { ReportProvider } from '../ui/report';
import type { StatusBar } from '../ui/statusBar';
import type { Insights } from '../ui/insights';

/** What commands need from the composition root. */
export interface CommandDeps {
  rt: Runtime;
  reports: ReportProvider;
  status: StatusBar;
  insights: Insights;
  flushCollectors(): void;
  /** The shipping line of the status bar and Show Statistics (undefined while shipping is off). */
  shipLine(): string | undefined;
}
