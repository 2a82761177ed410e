import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { describe } from './errors';
import { truncatedElf, truncatedKoffiBinary } from './elf';
import { FLOCK_PROVIDERS, FlockProviderName, isOneOf } from '../lists';

/**
 * Who makes the flock(2) call for the flock backend. Every provider takes the same kernel lock
 * (BSD flock on the open file description), so writers using different providers, flock(1) and
 * Python's fcntl.flock all exclude each other.
 *  - fs-ext: a NAN addon, compiled for one Node ABI (`process.versions.modules`). It loads where it
 *    was built (code-server, VS Code Server, the CLI under the Node that ran `npm ci`), not in
 *    desktop VS Code's Electron.
 *  - koffi: a C FFI on Node-API, whose binaries load in every Node version and in Electron. It calls
 *    libc's flock(2) (Linux, macOS, BSD) or, on Windows, LockFileEx/UnlockFileEx on the fd's OS
 *    handle over the same range fs-ext's Windows emulation locks.
 * Chain: fs-ext where it loads, else koffi, else none (the caller falls back to the lock file).
 * Only non-blocking calls are ever made: LOCK_NB / LOCKFILE_FAIL_IMMEDIATELY.
 */
export type { FlockProviderName } from '../lists';
/** Non-blocking exclusive, non-blocking shared, unlock (fs-ext's spelling). */
export type FlockOp = 'exnb' | 'shnb' | 'un';

export interface FlockProvider {
  readonly name: FlockProviderName;
  /** One call. Undefined on success, else the OS error with its errno name in `code`. Never throws. */
  flock(fd: number, op: FlockOp): NodeJS.ErrnoException | undefined;
}

/** Test hook and escape hatch: `fs-ext`, `koffi` or `none` forces that provider (or none). */
export const PROVIDER_ENV = 'TELEMETRY_SINK_FLOCK_PROVIDER';
const DISABLE_ENV = 'TELEMETRY_SINK_DISABLE_FLOCK';

type Loaded = { provider: FlockProvider; error?: undefined } | { provider?: undefined; error: string };
const loaded = new Map<FlockProviderName, Loaded>();

/** Loads one provider once per process. Never throws: a failure yields a reason without paths. */
export function loadProvider(name: FlockProviderName): Loaded {
  let r = loaded.get(name);
  if (!r) {
    try {
      r = { provider: name === 'fs-ext' ? loadFsExtProvider() : loadKoffiProvider() };
    } catch (err) {
      r = { error: loadFailure(describe(err)) };
    }
    loaded.set(name, r);
  }
  return r;
}

export interface ProviderChoice {
  provider?: FlockProvider;
  /** Why, e.g. "flock via koffi: fs-ext built for modules 115, this runtime is 127". No paths. */
  reason: string;
}

/** Walks the chain (or takes the provider forced through the environment). */
export function chooseFlockProvider(env: NodeJS.ProcessEnv = process.env): ProviderChoice {
  if (env[DISABLE_ENV] === '1') return { reason: `flock disabled by ${DISABLE_ENV}=1` };
  const forced = env[PROVIDER_ENV];
  if (forced) {
    if (forced === 'none') return { reason: `flock disabled by ${PROVIDER_ENV}=none` };
    if (!isOneOf(FLOCK_PROVIDERS, forced)) return { reason: `${PROVIDER_ENV}=${forced.slice(0, 40)} names no flock provider (${FLOCK_PROVIDERS.join(', ')}, none)` };
    const r = loadProvider(forced);
    if (r.provider) return { provider: r.provider, reason: `flock via ${forced}: forced by ${PROVIDER_ENV}` };
    return { reason: `${PROVIDER_ENV}=${forced} but ${forced} ${r.error}` };
  }
  const fx = loadProvider('fs-ext');
  if (fx.provider) return { provider: fx.provider, reason: `flock via fs-ext: its binary loads in this runtime (modules ${process.versions.modules})` };
  const kf = loadProvider('koffi');
  if (kf.provider) return { provider: kf.provider, reason: `flock via koffi: fs-ext ${fx.error}` };
  return { reason: `no flock provider loads: fs-ext ${fx.error}; koffi ${kf.error}` };
}

/**
 * Why a provider did not load, to follow its name: "built for modules 115, this runtime is 127"
 * for Node's / Electron's ABI error, else "did not load (<first line, paths scrubbed>)".
 */
export function loadFailure(message: string): string {
  const m = /NODE_MODULE_VERSION (\d+)\.[\s\S]*?NODE_MODULE_VERSION (\d+)/.exec(message);
  if (m) return `built for modules ${m[1]}, this runtime is ${m[2]}`;
  return `did not load (${scrubPaths(message.split('\n')[0] ?? '')})`;
}

const SEP = /[\\/]+/;
const lastPart = (p: string): string => p.split(SEP).filter(Boolean).pop() ?? p;

/**
 * Replaces absolute paths (POSIX, `C:\…`, `\\server\…`) with their last component: reasons end up
 * in session.start, stats and /metrics, and an install path says who the user is. Quoted paths and
 * paths of native modules (`….node`) may contain spaces; other paths end at a space. The home
 * folder becomes `~` first, so even a path cut at a space leaves no user name behind.
 */
export function scrubPaths(s: string, home = os.homedir()): string {
  const homeless = home.length > 3 ? s.split(home).join('~') : s;
  return homeless
    .replace(/(['"`])((?:~|[A-Za-z]:)?[\\/][^'"`\n]*)\1/g, (_m, q: string, p: string) => q + lastPart(p) + q)
    .replace(/(?<![\w.$-])(?:~|[A-Za-z]:)?[\\/][^'"`\n]*?\.node(?![\w.])/g, lastPart)
    .replace(/(?<![\w.$-])(?:~|[A-Za-z]:)?(?:[\\/]+[^\\/\s'"`:;,()]+)+[\\/]?/g, lastPart);
}

// ---- fs-ext ---------------------------------------------------------------------------------

interface FsExt {
  flockSync(fd: number, flags: string): void;
}

function loadFsExtProvider(): FlockProvider {
  // A cut-short binary would kill the process when loaded (SIGBUS): refuse it first.
  const damaged = truncatedElf(path.join(path.dirname(require.resolve('fs-ext')), 'build', 'Release', 'fs_ext.node'));
  if (damaged) throw new Error(`${damaged}; rebuild it (npm rebuild fs-ext) or reinstall the extension`);
  // A plain require kept out of the bundle: esbuild marks fs-ext external.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('fs-ext') as FsExt;
  if (typeof mod.flockSync !== 'function') throw new Error('fs-ext has no flockSync');
  return {
    name: 'fs-ext',
    flock(fd, op) {
      try {
        mod.flockSync(fd, op);
        return undefined;
      } catch (err) {
        return err as NodeJS.ErrnoException;
      }
    },
  };
}

// ---- koffi ----------------------------------------------------------------------------------

/** The part of koffi's API used here (koffi 2.x). */
export interface KoffiLike {
  load(path: string | null): { func(proto: string): (...args: unknown[]) => unknown };
  errno(): number;
}

/** flock(2) operation bits: the same values on Linux, macOS and the BSDs. */
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const POSIX_OPS: Record<FlockOp, number> = { exnb: LOCK_EX | LOCK_NB, shnb: LOCK_SH | LOCK_NB, un: LOCK_UN };

function loadKoffiProvider(): FlockProvider {
  // A cut-short binary would kill the process when loaded (SIGBUS): refuse it first.
  const damaged = truncatedKoffiBinary(path.dirname(require.resolve('koffi')));
  if (damaged) throw new Error(`${damaged}; reinstall koffi (or the extension)`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require('koffi') as KoffiLike;
  return process.platform === 'win32' ? koffiWindows(koffi) : koffiPosix(koffi);
}

/**
 * libc flock(2), looked up in the running process (libc is always loaded, whatever it is called on
 * this system). errno is read right after the call that failed, before anything else runs.
 */
export function koffiPosix(koffi: KoffiLike): FlockProvider {
  const flock = koffi.load(null).func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  return {
    name: 'koffi',
    flock(fd, op) {
      if (flock(fd, POSIX_OPS[op]) === 0) return undefined;
      return errnoError(koffi.errno(), 'flock');
    },
  };
}

/** An Error shaped like Node's own system errors: `code` is the errno name (EAGAIN, EBADF, …). */
export function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  let code = 'UNKNOWN';
  if (errno > 0) {
    try {
      code = util.getSystemErrorName(-errno);
    } catch {
      /* not a number libuv can name */
    }
    // libuv names fewer errnos than the OS has (ENOLCK, for one): ask the OS table next.
    if (!/^E[A-Z0-9]+$/.test(code)) code = osErrnoNames().get(errno) ?? 'UNKNOWN';
  }
  const err = new Error(`${code}: ${syscall} failed (errno ${errno})`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  return err;
}

let errnoNames: Map<number, string> | undefined;
function osErrnoNames(): Map<number, string> {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, n] of Object.entries(os.constants.errno)) if (!errnoNames.has(n)) errnoNames.set(n, name);
  }
  return errnoNames;
}

/** Win32 errors the emulation distinguishes. */
const ERROR_ACCESS_DENIED = 5;
const ERROR_INVALID_HANDLE = 6;
const ERROR_LOCK_VIOLATION = 33;
const ERROR_NOT_LOCKED = 158;
const LOCKFILE_FAIL_IMMEDIATELY = 1;
const LOCKFILE_EXCLUSIVE_LOCK = 2;
/** fs-ext locks bytes [0, 0xffff0000) on Windows; the same range makes both providers conflict. */
const WIN_LOCK_LEN = 0xffff0000;

/**
 * Windows (not tested here: no Windows machine). The same emulation as fs-ext's: LockFileEx with
 * LOCKFILE_FAIL_IMMEDIATELY on the fd's OS handle; ERROR_LOCK_VIOLATION means busy. The fd belongs
 * to libuv's C runtime, so its handle comes from uv_get_osfhandle, exported by the running
 * executable (node.exe, or Electron's, as native addons rely on). koffi keeps each call's
 * GetLastError value, so calling GetLastError through koffi right after reads LockFileEx's.
 */
export function koffiWindows(koffi: KoffiLike): FlockProvider {
  const kernel32 = koffi.load('kernel32.dll');
  const lockFileEx = kernel32.func('int __stdcall LockFileEx(intptr_t h, uint32_t flags, uint32_t reserved, uint32_t lo, uint32_t hi, void *ov)') as (...a: unknown[]) => number;
  const unlockFileEx = kernel32.func('int __stdcall UnlockFileEx(intptr_t h, uint32_t reserved, uint32_t lo, uint32_t hi, void *ov)') as (...a: unknown[]) => number;
  const getLastError = kernel32.func('uint32_t __stdcall GetLastError()') as () => number;
  const osfhandle = koffi.load(null).func('intptr_t uv_get_osfhandle(int fd)') as (fd: number) => number;
  // OVERLAPPED: Internal, InternalHigh (ULONG_PTR), Offset, OffsetHigh (DWORD), hEvent (HANDLE).
  const ptr = process.arch === 'ia32' ? 4 : 8;
  const overlappedSize = 3 * ptr + 8;
  return {
    name: 'koffi',
    flock(fd, op) {
      const h = osfhandle(fd);
      if (h === -1 || h === 0) return errnoLike('EBADF', `uv_get_osfhandle(${fd}) gave no handle`);
      const ov = Buffer.alloc(overlappedSize); // offset 0, no event
      const ok =
        op === 'un'
          ? unlockFileEx(h, 0, WIN_LOCK_LEN, 0, ov)
          : lockFileEx(h, LOCKFILE_FAIL_IMMEDIATELY | (op === 'exnb' ? LOCKFILE_EXCLUSIVE_LOCK : 0), 0, WIN_LOCK_LEN, 0, ov);
      if (ok) return undefined;
      const w = getLastError();
      if (op === 'un' && w === ERROR_NOT_LOCKED) return undefined;
      const code = w === ERROR_LOCK_VIOLATION ? 'EWOULDBLOCK' : w === ERROR_INVALID_HANDLE ? 'EBADF' : w === ERROR_ACCESS_DENIED ? 'EACCES' : 'EINVAL';
      return errnoLike(code, `${op === 'un' ? 'UnlockFileEx' : 'LockFileEx'} failed (Windows error ${w})`);
    },
  };
}

function errnoLike(code: string, message: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: ${message}`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}
