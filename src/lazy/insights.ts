/**
 * Entry of dist/insights.js: Show Statistics, its CSV export, and the reader behind the status bar's
 * figures for today; required on the first of those (the status bar's first refresh is 20 s in).
 */
export { Insights } from '../ui/insights';
export { showStatistics, statsCsv } from '../commands/showStatistics';
