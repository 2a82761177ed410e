/**
 * The lock suite, once per provider: fs-ext, koffi (both real flock(2)) and the lockfile backend.
 * A provider is forced the way users and the stress tests force it: TELEMETRY_SINK_FLOCK_PROVIDER.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Sink } from '../../src/core/sink/appender';
import { chooseBackend, FlockBackend, LockfileBackend, markerPath } from '../../src/core/sink/locks';
import { chooseFlockProvider, errnoError, loadFailure, koffiPosix, KoffiLike, loadProvider, PROVIDER_ENV, scrubPaths } from '../../src/core/sink/flockProviders';
import { SinkError } from '../../src/core/sink/errors';
import { repair } from '../../src/core/integrity/repair';
import { toPrometheus } from '../../src/core/sink/metrics';
import { LOCK_VARIANTS, LockVariant } from '../helpers/providers';
import { tmpDir } from '../helpers/tmp';

const tmp = (): string => tmpDir('lts-locks-');
const hasFlock1 = spawnSync('flock', ['--version']).status === 0;

/** Runs fn with the provider forced through the environment, as a user or a test would. */
async function withVariant<T>(v: LockVariant, fn: () => T | Promise<T>): Promise<T> {
  const before = process.env[PROVIDER_ENV];
  if (v.provider) process.env[PROVIDER_ENV] = v.provider;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[PROVIDER_ENV];
    else process.env[PROVIDER_ENV] = before;
  }
}

/** Takes the variant's lock on `file` from outside any sink; returns its release. */
function holdLock(v: LockVariant, file: string): () => void {
  if (!v.provider) {
    // As if the lockfile-users marker had been revived long ago: no grace to wait out here.
    fs.writeFileSync(markerPath(file), JSON.stringify({ since: Date.now() - 5_000 }));
    const lf = new LockfileBackend(file + '.lock', { announce: false });
    assert.equal(lf.tryLock(), true);
    return () => lf.unlock();
  }
  const p = loadProvider(v.provider).provider!;
  const fd = fs.openSync(file, 'a+');
  assert.equal(p.flock(fd, 'exnb'), undefined);
  return () => {
    p.flock(fd, 'un');
    fs.closeSync(fd);
  };
}

for (const v of LOCK_VARIANTS) {
  test(`${v.name}: the provider loads here and the sink names it in stats and /metrics`, async () => {
    const file = path.join(tmp(), 'e.jsonl');
    const sink = await withVariant(v, () => new Sink({ file, lock: v.lock }));
    sink.record('x', {});
    await sink.flush();
    const st = sink.stats();
    await sink.close();
    assert.equal(st.backend, v.lock);
    assert.equal(st.lockProvider, v.provider ?? null);
    if (v.provider) assert.match(st.backendReason, new RegExp(`^flock via ${v.provider}: `));
    const prom = toPrometheus(st);
    assert.match(prom, new RegExp(`telemetry_sink_lock_info\\{backend="${v.lock}"${v.provider ? `,provider="${v.provider}"` : ''},reason="[^"]+"\\} 1`));
  });

  test(`${v.name}: a busy lock times out with ERR_LOCK_TIMEOUT, keeps the events, writes them once free`, async () => {
    const file = path.join(tmp(), 'e.jsonl');
    fs.writeFileSync(file, '');
    const release = holdLock(v, file);
    const sink = await withVariant(v, () => new Sink({ file, lock: v.lock, lockTimeoutMs: 50, flushIntervalMs: 10_000 }));
    sink.record('waiting', {});
    const r = await sink.flush();
    assert.equal(r.error?.code, 'ERR_LOCK_TIMEOUT');
    assert.equal(r.pending, 1);
    assert.equal(sink.stats().lockTimeouts, 1);
    release();
    const r2 = await sink.flush();
    assert.equal(r2.written, 1);
    await sink.close();
  });

  test(`${v.name}: repair refuses when it cannot get the lock in time, and changes nothing`, async () => {
    const file = path.join(tmp(), 'events.jsonl');
    const content = 'junk\n';
    fs.writeFileSync(file, content);
    const release = holdLock(v, file);
    await withVariant(v, () =>
      assert.rejects(repair({ file, lockTimeoutMs: 100 }), (e: Error & { code?: string }) => e.code === 'ERR_LOCK_TIMEOUT' && /nothing was changed/.test(e.message)),
    );
    release();
    assert.equal(fs.readFileSync(file, 'utf8'), content);
  });

  if (!v.provider) continue;
  const provider = v.provider;

  test(`${v.name}: exclusive excludes another open file description, shared locks coexist, the lock is bound to the fd`, () => {
    const p = loadProvider(provider).provider!;
    const file = path.join(tmp(), 'e.jsonl');
    fs.writeFileSync(file, '');
    const [a, b] = [fs.openSync(file, 'a+'), fs.openSync(file, 'r')];
    const fa = new FlockBackend(p);
    const fb = new FlockBackend(p);
    assert.equal(fa.tryLock(a), true);
    assert.equal(fb.tryLock(b), false, 'EWOULDBLOCK is "busy", not an error');
    assert.equal(fb.tryLock(b, true), false, 'a shared lock waits for the exclusive one');
    fa.unlock(a);
    assert.equal(fa.tryLock(a, true), true);
    assert.equal(fb.tryLock(b, true), true, 'two shared locks (two verifies) coexist');
    fb.unlock(b);
    fa.unlock(a);
    assert.equal(fa.tryLock(a), true);
    fs.closeSync(a); // closing the fd drops its flock: nothing to unlock by hand
    assert.equal(fb.tryLock(b), true);
    fb.unlock(b);
    fs.closeSync(b);
  });

  test(`${v.name}: flock(1) and Python's fcntl.flock exclude it, and it excludes them`, { skip: !hasFlock1 && 'no flock(1)' }, async () => {
    const p = loadProvider(provider).provider!;
    const file = path.join(tmp(), 'e.jsonl');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'a+');
    const fl = new FlockBackend(p);
    assert.equal(fl.tryLock(fd), true);
    assert.equal(spawnSync('flock', ['-n', file, 'true']).status, 1, 'flock(1) refused while we hold it');
    const py = `import fcntl,sys\nf=open(sys.argv[1],'a')\ntry:\n fcntl.flock(f.fileno(),fcntl.LOCK_EX|fcntl.LOCK_NB)\n print('got')\nexcept BlockingIOError:\n print('busy')`;
    assert.equal(spawnSync('python3', ['-c', py, file], { encoding: 'utf8' }).stdout.trim(), 'busy');
    fl.unlock(fd);
    assert.equal(spawnSync('flock', ['-n', file, 'true']).status, 0, 'free after unlock');
    assert.equal(spawnSync('python3', ['-c', py, file], { encoding: 'utf8' }).stdout.trim(), 'got');
    // The other way round: flock(1) holds it until its stdin closes; we are busy meanwhile.
    const holder = spawn('flock', ['-n', file, 'sh', '-c', 'echo held; cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(holder.stdout!, 'data');
    assert.equal(fl.tryLock(fd), false, 'busy while flock(1) holds it');
    holder.stdin!.end();
    await once(holder, 'close');
    assert.equal(fl.tryLock(fd), true);
    fl.unlock(fd);
    fs.closeSync(fd);
  });

  test(`${v.name}: any errno other than busy/EINTR is a SinkError carrying it in sysCode`, () => {
    const p = loadProvider(provider).provider!;
    const fd = fs.openSync(path.join(tmp(), 'e.jsonl'), 'a+');
    fs.closeSync(fd); // a closed fd: EBADF
    assert.throws(
      () => new FlockBackend(p).tryLock(fd),
      (e: unknown) => e instanceof SinkError && e.code === 'ERR_LOCK_UNAVAILABLE' && e.sysCode === 'EBADF' && e.message.includes(`flock via ${provider}`),
    );
  });

  test(`${v.name}: lockfile writers announce themselves; a flock writer then also takes the lock file`, async () => {
    const file = path.join(tmp(), 'e.jsonl');
    const lf = new Sink({ file, lock: 'lockfile' });
    lf.record('from.lockfile', {});
    await lf.close();
    assert.ok(fs.existsSync(markerPath(file)), 'marker written');
    const fl = await withVariant(v, () => new Sink({ file, lock: 'flock', lockTimeoutMs: 100 }));
    assert.equal(fl.stats().lockProvider, provider);
    const holder = new LockfileBackend(file + '.lock', { announce: false });
    assert.equal(holder.tryLock(), true);
    fl.record('from.flock', {});
    const r = await fl.flush();
    assert.equal(r.error?.code, 'ERR_LOCK_TIMEOUT', 'excluded by the lock file in mixed mode');
    holder.unlock();
    const r2 = await fl.flush();
    assert.equal(r2.written, 1);
    await fl.close();
  });
}

test('fs-ext and koffi take the same kernel lock: each excludes the other, exclusive and shared', () => {
  const fx = loadProvider('fs-ext').provider!;
  const kf = loadProvider('koffi').provider!;
  const file = path.join(tmp(), 'e.jsonl');
  fs.writeFileSync(file, '');
  const [a, b] = [fs.openSync(file, 'a+'), fs.openSync(file, 'a+')];
  for (const [holder, other] of [[fx, kf], [kf, fx]] as const) {
    assert.equal(holder.flock(a, 'exnb'), undefined);
    assert.match(other.flock(b, 'exnb')?.code ?? 'acquired', /^(EAGAIN|EWOULDBLOCK)$/, `${other.name} busy while ${holder.name} holds`);
    assert.match(other.flock(b, 'shnb')?.code ?? 'acquired', /^(EAGAIN|EWOULDBLOCK)$/);
    assert.equal(holder.flock(a, 'un'), undefined);
    assert.equal(holder.flock(a, 'shnb'), undefined);
    assert.equal(other.flock(b, 'shnb'), undefined, 'shared with shared');
    assert.equal(other.flock(b, 'un'), undefined);
    assert.equal(holder.flock(a, 'un'), undefined);
  }
  fs.closeSync(a);
  fs.closeSync(b);
});

/** A koffi stand-in whose flock fails with the given errnos first, then succeeds. */
function fakeKoffi(errnos: number[]): KoffiLike & { calls: number } {
  let errno = 0;
  const k = {
    calls: 0,
    load: () => ({
      func: () => () => {
        k.calls++;
        const e = errnos.shift();
        if (e === undefined) return 0;
        errno = e;
        return -1;
      },
    }),
    errno: () => errno,
  };
  return k;
}

test('koffi: errno is read through koffi.errno() right after the failing call and named like Node names it', () => {
  const { EINTR, EWOULDBLOCK, ENOLCK } = os.constants.errno;
  const k = fakeKoffi([EINTR, EINTR]);
  const fl = new FlockBackend(koffiPosix(k));
  assert.equal(fl.tryLock(3), true, 'EINTR is retried at once');
  assert.equal(k.calls, 3);
  const k2 = fakeKoffi([EINTR, EINTR, EINTR, EINTR, EINTR]);
  assert.equal(new FlockBackend(koffiPosix(k2)).tryLock(3), false, 'EINTR that persists is reported busy (the caller backs off and retries)');
  assert.equal(new FlockBackend(koffiPosix(fakeKoffi([EWOULDBLOCK]))).tryLock(3), false);
  assert.throws(() => new FlockBackend(koffiPosix(fakeKoffi([ENOLCK]))).tryLock(3), (e: unknown) => e instanceof SinkError && e.sysCode === 'ENOLCK');
  assert.equal(errnoError(0, 'flock').code, 'UNKNOWN');
  assert.equal(errnoError(os.constants.errno.EBADF, 'flock').code, 'EBADF');
});

test('provider chain: forced by the environment, disabled, unknown names, and the lockfile only when none loads', () => {
  assert.equal(chooseFlockProvider({ [PROVIDER_ENV]: 'koffi' }).provider?.name, 'koffi');
  assert.equal(chooseFlockProvider({ [PROVIDER_ENV]: 'fs-ext' }).provider?.name, 'fs-ext');
  const none = chooseFlockProvider({ [PROVIDER_ENV]: 'none' });
  assert.equal(none.provider, undefined);
  assert.match(chooseFlockProvider({ [PROVIDER_ENV]: 'bogus' }).reason, /names no flock provider/);
  assert.match(chooseFlockProvider({ TELEMETRY_SINK_DISABLE_FLOCK: '1' }).reason, /disabled/);
  // Here fs-ext loads (npm ci built it for this Node), so it comes first.
  assert.match(chooseFlockProvider({}).reason, /^flock via fs-ext: its binary loads in this runtime \(modules \d+\)$/);
  const file = path.join(tmp(), 'e.jsonl');
  const before = process.env[PROVIDER_ENV];
  process.env[PROVIDER_ENV] = 'none';
  try {
    const c = chooseBackend('auto', file);
    assert.equal(c.backend.name, 'lockfile');
    assert.match(c.reason, /^fallback: flock disabled/);
    assert.throws(() => chooseBackend('flock', file), (e: unknown) => e instanceof SinkError && e.code === 'ERR_LOCK_UNAVAILABLE');
  } finally {
    if (before === undefined) delete process.env[PROVIDER_ENV];
    else process.env[PROVIDER_ENV] = before;
  }
});

test('backend reasons: the ABI mismatch is stated in numbers, and no absolute path survives', () => {
  const abi = "The module '/home/u/.vscode/extensions/x/node_modules/fs-ext/build/Release/fs_ext.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 127. Please try re-compiling";
  assert.equal(loadFailure(abi), 'built for modules 115, this runtime is 127');
  assert.equal(loadFailure("Cannot find module 'koffi'\nRequire stack:\n- /home/u/x/dist/cli.js"), "did not load (Cannot find module 'koffi')");
  const cases: Array<[string, string]> = [
    ['/tmp/a/node_modules/fs-ext/build/Release/fs_ext.node: invalid ELF header', 'fs_ext.node: invalid ELF header'],
    ["Cannot find module '/home/u/x/koffi' from ./here", "Cannot find module 'koffi' from ./here"],
    ['C:\\Users\\u\\.vscode\\extensions\\x\\fs_ext.node is not a valid Win32 application', 'fs_ext.node is not a valid Win32 application'],
    ['\\\\server\\share\\dir\\fs_ext.node failed', 'fs_ext.node failed'],
    ['modules 115, this runtime is 127', 'modules 115, this runtime is 127'],
    ['/home/John Smith/.vscode/extensions/x/node_modules/fs-ext/build/Release/fs_ext.node: invalid ELF header', 'fs_ext.node: invalid ELF header'],
    ["The module 'C:\\Users\\John Smith\\x\\fs_ext.node' was compiled", "The module 'fs_ext.node' was compiled"],
  ];
  for (const [input, want] of cases) assert.equal(scrubPaths(input, '/nonexistent-home'), want);
  assert.equal(scrubPaths('relative to /home/john smith', '/home/john smith'), 'relative to ~');
  // An unquoted path with a space (not a native module) is cut at the space: no absolute part is left.
  assert.doesNotMatch(scrubPaths('Error loading shared library /opt/my libs/libc.so: nope', '/nonexistent-home'), /\/opt/);
});

/**
 * Copies a provider package with its binaries cut to a fraction of their length (an interrupted
 * copy or extraction, a full disk), then walks the provider chain in a child process that resolves
 * the package to the copy. Returns the child's choice, or fails the test when the child died.
 */
function chainWithTruncated(pkg: 'koffi' | 'fs-ext', files: string[], binaries: string[], env: Record<string, string>): { provider: string | null; reason: string; dir: string } {
  const real = path.dirname(require.resolve(pkg));
  const dir = path.join(tmp(), 'node_modules', pkg);
  for (const f of files) fs.cpSync(path.join(real, f), path.join(dir, f));
  for (const b of binaries) {
    const bin = fs.readFileSync(path.join(real, b));
    fs.mkdirSync(path.dirname(path.join(dir, b)), { recursive: true });
    fs.writeFileSync(path.join(dir, b), bin.subarray(0, Math.floor(bin.length / 3)));
  }
  const providers = path.join(__dirname, '../../src/core/sink/flockProviders.js');
  const script = `const M = require('module'); const r = M._resolveFilename;
M._resolveFilename = function (req, ...a) { return r.call(this, req === ${JSON.stringify(pkg)} ? ${JSON.stringify(dir)} : req, ...a); };
const c = require(${JSON.stringify(providers)}).chooseFlockProvider(${JSON.stringify(env)});
process.stdout.write(JSON.stringify({ provider: c.provider ? c.provider.name : null, reason: c.reason }));`;
  const p = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(p.signal, null, `the process died of ${p.signal}`);
  assert.equal(p.status, 0, p.stderr);
  return { ...(JSON.parse(p.stdout) as { provider: string | null; reason: string }), dir };
}

const elfOnly = process.platform !== 'linux' && 'the check reads ELF binaries';

// dlopen maps a cut-short binary and the first touch past the end of the file raises SIGBUS: the
// whole process — in VS Code the extension host, with every other extension — died.
test('koffi: a truncated binary is refused before it is loaded (loading it killed the process with SIGBUS)', { skip: elfOnly, timeout: 60_000 }, () => {
  const builds = fs.readdirSync(path.join(path.dirname(require.resolve('koffi')), 'build', 'koffi')).filter((t) => t === `linux_${process.arch}` || t === `musl_${process.arch}`);
  const out = chainWithTruncated('koffi', ['index.js', 'package.json'], builds.map((t) => path.join('build', 'koffi', t, 'koffi.node')), { [PROVIDER_ENV]: 'koffi' });
  assert.equal(out.provider, null);
  assert.match(out.reason, /koffi did not load \(koffi\.node is truncated/);
  assert.ok(!out.reason.includes(out.dir), out.reason);
});

test('fs-ext: a truncated binary is refused before it is loaded too (it is tried first), and the chain moves on', { skip: elfOnly, timeout: 60_000 }, () => {
  const out = chainWithTruncated('fs-ext', ['fs-ext.js', 'package.json'], [path.join('build', 'Release', 'fs_ext.node')], {});
  assert.equal(out.provider, 'koffi');
  assert.match(out.reason, /^flock via koffi: fs-ext did not load \(fs_ext\.node is truncated/);
});
