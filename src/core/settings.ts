/**
 * Typed settings, mirroring contributes.configuration in package.json. Pure: the extension passes a
 * getter over workspace configuration; a bad value falls back to its default with one warning.
 */
import { FSYNC_POLICIES, FsyncPolicy, LOCK_MODES, LockMode, PATH_MODES, PathMode } from './lists';

export const CATEGORIES = ['documents', 'edits', 'editors', 'selection', 'window', 'terminals', 'tasks', 'debug', 'workspace', 'ai'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Settings {
  enabled: boolean;
  file: string;
  capture: Record<Category, boolean>;
  schemes: string[];
  pathMode: PathMode;
  exclude: string[];
  captureContent: boolean;
  flushIntervalMs: number;
  fsync: FsyncPolicy;
  rotation: { maxBytes: number; maxFiles: number; maxAgeDays: number };
  queue: { maxEvents: number; maxBytes: number };
  lock: { backend: LockMode; timeoutMs: number };
  http: { enabled: boolean; port: number; token: string };
  honorVsCodeTelemetryLevel: boolean;
  ai: { heuristic: boolean; knownExtensions: string[] };
  /** Task names (labels) in task.* events; off: task source and type only. */
  taskLabels: boolean;
}

export const DEFAULTS: Settings = {
  enabled: true,
  file: '',
  capture: Object.fromEntries(CATEGORIES.map((c) => [c, true])) as Record<Category, boolean>,
  schemes: ['file', 'untitled'],
  pathMode: 'relative',
  exclude: ['**/.git/**', '**/node_modules/**'],
  captureContent: false,
  flushIntervalMs: 1000,
  fsync: 'never',
  rotation: { maxBytes: 64 * 1024 * 1024, maxFiles: 10, maxAgeDays: 30 },
  queue: { maxEvents: 50_000, maxBytes: 16 * 1024 * 1024 },
  lock: { backend: 'auto', timeoutMs: 5000 },
  http: { enabled: false, port: 8091, token: '' },
  honorVsCodeTelemetryLevel: false,
  ai: {
    heuristic: true,
    knownExtensions: ['github.copilot', 'github.copilot-chat', 'continue.continue', 'tabnine.tabnine-vscode', 'codeium.codeium', 'supermaven.supermaven', 'amazonwebservices.amazon-q-vscode', 'sourcegraph.cody-ai', 'local-telemetry-sink.ai-fixture'],
  },
  taskLabels: false,
};

type Getter = (key: string) => unknown;

/** Parses every setting; returns the settings and one warning per bad value. */
export function parseSettings(get: Getter): { settings: Settings; warnings: string[] } {
  const warnings: string[] = [];
  const bad = (key: string, v: unknown, why: string): void => {
    warnings.push(`telemetrySink.${key}: ${why} (got ${short(v)}); using the default`);
  };
  const bool = (key: string, d: boolean): boolean => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (typeof v === 'boolean') return v;
    bad(key, v, 'expected true or false');
    return d;
  };
  const int = (key: string, d: number, min: number, max: number): number => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    bad(key, v, `expected a whole number from ${min} to ${max}`);
    return d;
  };
  const oneOf = <T extends string>(key: string, d: T, allowed: readonly T[]): T => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    bad(key, v, `expected one of ${allowed.join(', ')}`);
    return d;
  };
  const str = (key: string, d: string): string => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (typeof v === 'string') return v.trim();
    bad(key, v, 'expected a string');
    return d;
  };
  const strs = (key: string, d: string[]): string[] => {
    const v = get(key);
    if (v === undefined || v === null) return d;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    bad(key, v, 'expected a list of strings');
    return d;
  };
  const capture = {} as Record<Category, boolean>;
  for (const c of CATEGORIES) capture[c] = bool(`capture.${c}`, DEFAULTS.capture[c]);
  const settings: Settings = {
    enabled: bool('enabled', DEFAULTS.enabled),
    file: str('file', DEFAULTS.file),
    capture,
    schemes: strs('schemes', DEFAULTS.schemes),
    pathMode: oneOf<PathMode>('pathMode', DEFAULTS.pathMode, PATH_MODES),
    exclude: strs('exclude', DEFAULTS.exclude),
    captureContent: bool('captureContent', DEFAULTS.captureContent),
    flushIntervalMs: int('flushIntervalMs', DEFAULTS.flushIntervalMs, 50, 60_000),
    fsync: oneOf<FsyncPolicy>('fsync', DEFAULTS.fsync, FSYNC_POLICIES),
    rotation: {
      maxBytes: int('rotation.maxBytes', DEFAULTS.rotation.maxBytes, 0, 2 ** 40),
      maxFiles: int('rotation.maxFiles', DEFAULTS.rotation.maxFiles, 0, 10_000),
      maxAgeDays: int('rotation.maxAgeDays', DEFAULTS.rotation.maxAgeDays, 0, 36_500),
    },
    queue: {
      maxEvents: int('queue.maxEvents', DEFAULTS.queue.maxEvents, 100, 10_000_000),
      maxBytes: int('queue.maxBytes', DEFAULTS.queue.maxBytes, 64 * 1024, 1024 * 1024 * 1024),
    },
    lock: {
      backend: oneOf<LockMode>('lock.backend', DEFAULTS.lock.backend, LOCK_MODES),
      timeoutMs: int('lock.timeoutMs', DEFAULTS.lock.timeoutMs, 10, 600_000),
    },
    http: {
      enabled: bool('http.enabled', DEFAULTS.http.enabled),
      port: int('http.port', DEFAULTS.http.port, 1024, 65_535),
      token: str('http.token', DEFAULTS.http.token),
    },
    honorVsCodeTelemetryLevel: bool('honorVsCodeTelemetryLevel', DEFAULTS.honorVsCodeTelemetryLevel),
    ai: {
      heuristic: bool('ai.heuristic', DEFAULTS.ai.heuristic),
      knownExtensions: strs('ai.knownExtensions', DEFAULTS.ai.knownExtensions).map((s) => s.toLowerCase()),
    },
    taskLabels: bool('taskLabels', DEFAULTS.taskLabels),
  };
  return { settings, warnings };
}

/** Settings whose change needs the sink reopened (a new session). */
export function sinkKey(s: Settings, resolvedFile: string): string {
  return JSON.stringify([resolvedFile, s.fsync, s.rotation, s.queue, s.lock, s.flushIntervalMs]);
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
