import type { Runtime } from '../runtime';
import type { ReportProvider } from '../ui/report';
import type { StatusBar } from '../ui/statusBar';

/** What commands need from the composition root. */
export interface CommandDeps {
  rt: Runtime;
  reports: ReportProvider;
  status: StatusBar;
  flushCollectors(): void;
}
