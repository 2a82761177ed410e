import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { COMMANDS, main } from '../../src/cli';
import { CLI } from '../helpers/procs';
import { tmpDir } from '../helpers/tmp';

/** Runs main() in-process with stdout and stderr captured. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

const flagsOf = (c: (typeof COMMANDS)[number]): string[] => [...c.valued, ...c.switches, ...(c.legacy ?? [])];

test('CLI: each command help and the top-level usage list exactly its flags', async () => {
  const top = await run('--help');
  assert.equal(top.code, 0);
  for (const c of COMMANDS) {
    const help = await run(c.name, '--help');
    assert.equal(help.code, 0, c.name);
    for (const f of flagsOf(c)) assert.match(help.out, new RegExp(`--${f}\\b`), `${c.name} --help lists --${f}`);
    const synopsis = c.synopsis.join(' ');
    for (const f of [...c.valued, ...c.switches]) assert.match(synopsis, new RegExp(`--${f}\\b`), `${c.name} usage lists --${f}`);
    for (const m of synopsis.matchAll(/--([a-z-]+)/g)) assert.ok(flagsOf(c).includes(m[1]!), `${c.name} usage names only its own flags (--${m[1]})`);
    const line = top.out.slice(top.out.indexOf(`telemetry-sink ${c.name} `)).split(/\n {2}telemetry-sink /)[0]!;
    for (const t of c.synopsis) assert.ok(line.includes(t), `top-level usage of ${c.name} has ${t}`);
  }
});

test("CLI: a command refuses every flag that is not its own (exit 2), other commands' flags included", async () => {
  const all = [...new Set(COMMANDS.flatMap(flagsOf)), 'bogus'];
  for (const c of COMMANDS) {
    for (const f of all.filter((x) => !flagsOf(c).includes(x))) {
      const r = await run(c.name, `--${f}`, '1');
      assert.equal(r.code, 2, `${c.name} --${f}`);
      assert.match(r.err, new RegExp(`unknown option --${f}\\b`), `${c.name} --${f}`);
    }
  }
});

test('CLI: verify --lock-timeout on a clean file is a usage error, not a silent success (the built CLI)', (t) => {
  const dir = tmpDir('lts-cli-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'e.jsonl');
  fs.writeFileSync(file, '', { mode: 0o600 });
  fs.chmodSync(dir, 0o700);
  const ok = spawnSync(process.execPath, [CLI, 'verify', '--file', file], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const r = spawnSync(process.execPath, [CLI, 'verify', '--file', file, '--lock-timeout', '5'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /unknown option --lock-timeout/);
});
