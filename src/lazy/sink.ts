/**
 * Entry of dist/sink.js: the locked appender, the door policy and the privacy rules. Required right
 * after activation, when the sink opens (or earlier, by the first event that needs it). No vscode here.
 */
export { Sink } from '../core/sink/appender';
export { admit } from '../core/ingest/policy';
export { toAiRecord } from '../core/ingest/aiEvent';
export { normalizeInput } from '../core/ingest/input';
export { Excluder, loadPathSalt, presentPath, scrubPaths } from '../core/privacy';
