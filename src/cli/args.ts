/** Flag parsing shared by every CLI command: unknown flags and bad values are clear usage errors. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

export interface Flags {
  [k: string]: string | boolean | undefined;
}

/**
 * What one subcommand accepts, declared once: the parser takes exactly these flags (anything else
 * is a usage error, exit 2), the top-level help prints `synopsis`, and a unit test checks that
 * the synopsis and `help` name every flag.
 */
export interface CommandSpec {
  name: string;
  /** Flags that take a value. */
  valued: readonly string[];
  /** Flags without a value (`--help` is added to every command). */
  switches: readonly string[];
  /** Switches still accepted for older scripts: in `help`, not in the synopsis. */
  legacy?: readonly string[];
  /** Its part of the top-level usage, e.g. ['[--file F]', '[--json]']. */
  synopsis: readonly string[];
  /** `telemetry-sink <name> --help`. */
  help: string;
}

/** Parses a subcommand's arguments by its spec; null after printing its help for --help. */
export function parseCommand(argv: string[], spec: CommandSpec): Flags | null {
  const f = parseFlags(argv, [...spec.valued], [...spec.switches, ...(spec.legacy ?? []), 'help']);
  if (!f.help) return f;
  process.stdout.write(spec.help + '\n');
  return null;
}

/** The usage lines of these commands, wrapped under their name at `width` columns. */
export function usage(specs: readonly CommandSpec[], width = 104): string {
  const pad = Math.max(...specs.map((s) => s.name.length));
  const out: string[] = [];
  for (const s of specs) {
    const head = `  telemetry-sink ${s.name.padEnd(pad)}`;
    let line = head;
    let tokens = 0;
    for (const t of s.synopsis) {
      if (tokens > 0 && line.length + 1 + t.length > width) {
        out.push(line);
        line = ' '.repeat(head.length);
        tokens = 0;
      }
      line += ' ' + t;
      tokens++;
    }
    out.push(line);
  }
  return out.join('\n');
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

