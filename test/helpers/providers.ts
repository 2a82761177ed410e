import type { FlockProviderName } from '../../src/core/sink/flockProviders';

/**
 * The lock variants every lock test runs under: flock through each provider (forced with
 * TELEMETRY_SINK_FLOCK_PROVIDER, with `lock: 'flock'` so a provider that fails to load fails the
 * test instead of falling back), and the lockfile backend.
 */
export interface LockVariant {
  name: string;
  lock: 'flock' | 'lockfile';
  provider?: FlockProviderName;
  env: NodeJS.ProcessEnv;
}

export const LOCK_VARIANTS: readonly LockVariant[] = [
  { name: 'fs-ext', lock: 'flock', provider: 'fs-ext', env: { TELEMETRY_SINK_FLOCK_PROVIDER: 'fs-ext' } },
  { name: 'koffi', lock: 'flock', provider: 'koffi', env: { TELEMETRY_SINK_FLOCK_PROVIDER: 'koffi' } },
  { name: 'lockfile', lock: 'lockfile', env: {} },
];

export const FLOCK_VARIANTS = LOCK_VARIANTS.filter((v) => v.provider);
