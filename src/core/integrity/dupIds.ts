/**
 * Verify's second pass: the fingerprints seen twice are only candidates (52-bit hashes collide);
 * this pass reads the files again and confirms each one exactly by its id, so a collision can never
 * be reported as a duplicate. In the default mode the fast scanner finds each line's id bytes and
 * only candidate lines are parsed.
 */
import { classifyLine, excerpt } from './classify';
import { forEachLine, chunkBufferSize, LineChunk, rawLine, readLineChunks } from './chunks';
import { fingerprint } from './idset';
import { fingerprintAt, newCanonicalFields, scanCanonical } from './scanner';
import type { Problem } from './verify';
import type { FileSet } from './fileset';

export interface IdPassOptions {
  maxLine: number;
  deep: boolean;
  signal?: AbortSignal;
}

export async function confirmDuplicateIds(set: FileSet, candidates: Set<number>, o: IdPassOptions, report: (p: Problem) => void): Promise<void> {
  // id → first (sid, seq) seen. Only candidate ids are kept, so this stays small.
  const first = new Map<string, string>();
  const size = chunkBufferSize(o.maxLine, Math.max(0, ...set.files.map((f) => f.size)));
  const free: Uint8Array[] = [new Uint8Array(size), new Uint8Array(size)];
  const f = newCanonicalFields();
  for (let i = 0; i < set.files.length; i++) {
    const file = set.files[i]!;
    let line = 0;
    const onChunk = (c: LineChunk): void => {
      const buf = Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.used);
      forEachLine(c, buf, (s, e) => {
        line++;
        const quick = !o.deep && !c.single && e - s <= o.maxLine && scanCanonical(buf, s, e, f);
        if (quick && !candidates.has(fingerprintAt(buf, f.idStart, f.idEnd))) return;
        const l = rawLine(c, buf, s, e, o.maxLine, line);
        const env = classifyLine(l, o.maxLine).env;
        if (!env || !candidates.has(fingerprint(env.id))) return;
        const key = `${env.sid}#${env.seq}`;
        const prev = first.get(env.id);
        if (prev === undefined) first.set(env.id, key);
        else if (prev !== key) {
          // Same id on a different event (a repeated (sid, seq) is already reported as duplicate).
          report({ file: file.path, line, offset: l.offset, code: 'duplicate_id', message: `id ${env.id} was already used by another event`, sid: env.sid, seq: env.seq, excerpt: excerpt(l.bytes) });
        }
      });
      if (c.pooled) free.push(c.bytes);
    };
    // Same bytes as the first pass: withFile refuses a rotated file that is no longer the one read.
    await set.withFile(i, (fd, f) => readLineChunks({ fd, path: f.path, end: f.size, maxLine: o.maxLine, acquire: () => free.pop()!, release: (b) => free.push(b), emit: onChunk, signal: o.signal }));
  }
}
