import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Temp folders for tests, removed once the importing test file's tests are done. Import this only
 * from test files (node:test): the hook below is registered on the file's root when it loads.
 */
const made: string[] = [];

after(() => {
  for (const d of made.splice(0)) {
    try {
      fs.rmSync(d, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    } catch (err) {
      // A mount a failed test left behind, a folder made unreadable: say so, do not fail the file.
      process.stderr.write(`# could not remove ${d}: ${(err as Error).message}\n`);
    }
  }
});

/** A new folder under the OS temp folder, removed after this file's tests. */
export function tmpDir(prefix = 'lts-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
