/**
 * Typed settings, mirroring contributes.configuration in package.json. Pure: the extension passes a
 * getter over workspace configuration; a bad value falls back to its default with one warning.
 */
import { FSYNC_POLICIES, FsyncPolicy, isOneOf, LOCK_MODES, LockMode, PATH_MODES, PathMode } from './lists';

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

/** Reads settings through `get`: a missing value gives its default, a bad one too, with one warning. */
class SettingReader {
  readonly warnings: string[] = [];
  constructor(private readonly get: Getter) {}

  private read<T>(key: string, d: T, ok: (v: unknown) => boolean, why: string): T {
    const v = this.get(key);
    if (v === undefined || v === null) return d;
    if (ok(v)) return v as T;
    this.warnings.push(`telemetrySink.${key}: ${why} (got ${short(v)}); using the default`);
    return d;
  }
  bool(key: string, d: boolean): boolean {
    return this.read(key, d, (v) => typeof v === 'boolean', 'expected true or false');
  }
  int(key: string, d: number, min: number, max: number): number {
    return this.read(key, d, (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, `expected a whole number from ${min} to ${max}`);
  }
  oneOf<T extends string>(key: string, d: T, allowed: readonly T[]): T {
    return this.read(key, d, (v) => isOneOf(allowed, v), `expected one of ${allowed.join(', ')}`);
  }
  str(key: string, d: string): string {
    return this.read(key, d, (v) => typeof v === 'string', 'expected a string').trim();
  }
  strs(key: string, d: string[]): string[] {
    return this.read(key, d, (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'expected a list of strings');
  }
}

/** Parses every setting; returns the settings and one warning per bad value. */
export function parseSettings(get: Getter): { settings: Settings; warnings: string[] } {
  const r = new SettingReader(get);
  const capture = {} as Record<Category, boolean>;
  for (const c of CATEGORIES) capture[c] = r.bool(`capture.${c}`, DEFAULTS.capture[c]);
  const settings: Settings = {
    enabled: r.bool('enabled', DEFAULTS.enabled),
    file: r.str('file', DEFAULTS.file),
    capture,
    schemes: r.strs('schemes', DEFAULTS.schemes),
    pathMode: r.oneOf<PathMode>('pathMode', DEFAULTS.pathMode, PATH_MODES),
    exclude: r.strs('exclude', DEFAULTS.exclude),
    captureContent: r.bool('captureContent', DEFAULTS.captureContent),
    flushIntervalMs: r.int('flushIntervalMs', DEFAULTS.flushIntervalMs, 50, 60_000),
    fsync: r.oneOf<FsyncPolicy>('fsync', DEFAULTS.fsync, FSYNC_POLICIES),
    rotation: {
      maxBytes: r.int('rotation.maxBytes', DEFAULTS.rotation.maxBytes, 0, 2 ** 40),
      maxFiles: r.int('rotation.maxFiles', DEFAULTS.rotation.maxFiles, 0, 10_000),
      maxAgeDays: r.int('rotation.maxAgeDays', DEFAULTS.rotation.maxAgeDays, 0, 36_500),
    },
    queue: {
      maxEvents: r.int('queue.maxEvents', DEFAULTS.queue.maxEvents, 100, 10_000_000),
      maxBytes: r.int('queue.maxBytes', DEFAULTS.queue.maxBytes, 64 * 1024, 1024 * 1024 * 1024),
    },
    lock: {
      backend: r.oneOf<LockMode>('lock.backend', DEFAULTS.lock.backend, LOCK_MODES),
      timeoutMs: r.int('lock.timeoutMs', DEFAULTS.lock.timeoutMs, 10, 600_000),
    },
    http: {
      enabled: r.bool('http.enabled', DEFAULTS.http.enabled),
      port: r.int('http.port', DEFAULTS.http.port, 1024, 65_535),
      token: r.str('http.token', DEFAULTS.http.token),
    },
    honorVsCodeTelemetryLevel: r.bool('honorVsCodeTelemetryLevel', DEFAULTS.honorVsCodeTelemetryLevel),
    ai: {
      heuristic: r.bool('ai.heuristic', DEFAULTS.ai.heuristic),
      knownExtensions: r.strs('ai.knownExtensions', DEFAULTS.ai.knownExtensions).map((s) => s.toLowerCase()),
    },
    taskLabels: r.bool('taskLabels', DEFAULTS.taskLabels),
  };
  return { settings, warnings: r.warnings };
}

/** Settings whose change needs the sink reopened (a new session). */
export function sinkKey(s: Settings, resolvedFile: string): string {
  return JSON.stringify([resolvedFile, s.fsync, s.rotation, s.queue, s.lock, s.flushIntervalMs]);
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
