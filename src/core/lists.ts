/**
 * The closed lists more than one part of the product accepts: settings (and package.json's
 * contributes.configuration enums, compared by a unit test), the CLI's flags, the ingest doors and
 * the statistics. Each list is written here once; everything else imports it.
 */

/** telemetrySink.lock.backend, `record --lock`. */
export const LOCK_MODES = ['auto', 'flock', 'lockfile'] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** telemetrySink.fsync, `record --fsync`. */
export const FSYNC_POLICIES = ['never', 'batch', 'always'] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

/** Who may make the flock(2) call (TELEMETRY_SINK_FLOCK_PROVIDER also takes `none`). */
export const FLOCK_PROVIDERS = ['fs-ext', 'koffi'] as const;
export type FlockProviderName = (typeof FLOCK_PROVIDERS)[number];

/** telemetrySink.pathMode. */
export const PATH_MODES = ['relative', 'hashed', 'basename', 'none'] as const;
export type PathMode = (typeof PATH_MODES)[number];

/** telemetrySink.ship.identity, `ship --identity`: the origin column (salted hash, plain, none). */
export const IDENTITY_MODES = ['hashed', 'plain', 'none'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

/**
 * The kinds of `ai.completion.<kind>` events, in the order the statistics count them. The public
 * API's `AiKind` (local-telemetry-sink.d.ts, shipped standalone) spells the same union; aiEvent.ts
 * checks at compile time that the two agree.
 */
export const AI_KINDS = ['shown', 'accepted', 'partially_accepted', 'rejected', 'error'] as const;
export type AiKindName = (typeof AI_KINDS)[number];

/** True when `v` is one of `list` (narrows the type). */
export function isOneOf<T extends string>(list: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (list as readonly string[]).includes(v);
}
