/** Flag parsing shared by every CLI command: unknown flags and bad values are clear usage errors. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

export interface Flags {
  [k: string]: string | boolean | undefined;
}

/** Parses --flag value / --flag=value / --switch; rejects unknown flags with a clear message. */
export function parseFlags(argv: string[], valued: string[], switches: string[]): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (switches.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
    } else if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`--${name} needs a value`);
      out[name] = v;
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

export function oneOf<T extends string>(flag: string, v: string | boolean | undefined, allowed: readonly T[], d: T): T {
  if (v === undefined) return d;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
}

export function intFlag(name: string, v: string | boolean | undefined, d: number): number {
  if (v === undefined) return d;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number (got ${JSON.stringify(v)})`);
  return Number(v);
}

