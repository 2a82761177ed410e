/**
 * Entry of dist/ship.js: the shipper and its election, loaded by the extension only when shipping is
 * on (a URL is set), so windows that do not ship never load or parse it. No vscode import here.
 */
export { Shipper } from '../core/ship/shipper';
export { Election } from '../core/ship/election';
export { checkDestination, cleartextWarning } from '../core/ship/clickhouse';
export { shipPaths, readCursor } from '../core/ship/cursor';
export { estimateBehind } from '../core/ship/behind';
export { describeShipError } from '../core/ship/errors';
