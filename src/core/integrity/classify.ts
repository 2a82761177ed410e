import { isUtf8 } from 'node:buffer';
import { checkLineCrc, EnvelopeV1 } from '../sink/envelope';
import { envelopeValidator, schemaMessage } from './schema';
import { strictJsonProblem, unsafeSeqProblem } from './strictJson';
import type { RawLine } from './reader';

/** Reason codes for one damaged line. Stable: they appear in --json output and quarantine files. */
export type LineProblem =
  | 'blank'
  | 'too_long'
  | 'crlf'
  | 'bom'
  | 'nul_bytes'
  | 'invalid_utf8'
  | 'torn'
  | 'invalid_json'
  | 'not_object'
  | 'schema'
  | 'crc_mismatch'
  /** Duplicate keys or integers past 2^53 − 1 (lines without crc), or an unsafe seq (any line). */
  | 'ambiguous_json';

export interface Verdict {
  problem?: LineProblem;
  message?: string;
  /** The envelope, when the content parsed and matched the schema (even if the line has a problem). */
  env?: EnvelopeV1;
  /** true/false when the line carries a crc, undefined when it does not. */
  crc?: boolean;
}

const BOM0 = 0xef;
const CR = 0x0d;

/** Classifies one line: the first problem found wins. `maxLineBytes` is the length cap. */
export function classifyLine(l: RawLine, maxLineBytes: number): Verdict {
  let b = l.bytes;
  if (b.indexOf(0) !== -1) return { problem: 'nul_bytes', message: 'NUL bytes (a crash left zero-filled space)' };
  if (!l.terminated) {
    return { problem: 'torn', message: `last line has no newline (${l.length} bytes): a writer stopped mid-line` };
  }
  if (l.truncated || l.length > maxLineBytes) {
    return { problem: 'too_long', message: `line is ${l.length} bytes, over the ${maxLineBytes}-byte cap` };
  }
  if (b.length === 0) return { problem: 'blank', message: 'blank line' };
  let first: LineProblem | undefined;
  let firstMsg: string | undefined;
  if (b[b.length - 1] === CR) {
    first = 'crlf';
    firstMsg = 'CRLF line ending (\\r\\n); the format uses \\n';
    b = b.subarray(0, b.length - 1);
  }
  if (b.length >= 3 && b[0] === BOM0 && b[1] === 0xbb && b[2] === 0xbf) {
    if (!first) {
      first = 'bom';
      firstMsg = 'UTF-8 byte order mark at the start of the line';
    }
    b = b.subarray(3);
  }
  if (!isUtf8(b)) return { problem: first ?? 'invalid_utf8', message: firstMsg ?? 'not valid UTF-8' };
  if (isBlank(b)) return { problem: first ?? 'blank', message: firstMsg ?? 'blank line (whitespace only)' };
  let obj: unknown;
  const text = b.toString('utf8');
  try {
    obj = JSON.parse(text);
  } catch (err) {
    if (first) return { problem: first, message: firstMsg };
    const m = (err as Error).message;
    // The parser ran out of input: a record cut short (a writer died mid-line; the next one fenced it).
    const pos = /at position (\d+)/.exec(m);
    if (/Unexpected end of JSON input/.test(m) || (pos && Number(pos[1]) >= text.length)) {
      return { problem: 'torn', message: 'record cut short (a writer stopped mid-line and the next write fenced it)' };
    }
    return { problem: 'invalid_json', message: `not JSON: ${m}` };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { problem: first ?? 'not_object', message: firstMsg ?? `JSON ${obj === null ? 'null' : Array.isArray(obj) ? 'array' : typeof obj}, not an object` };
  }
  const validate = envelopeValidator();
  if (!validate(obj)) return { problem: first ?? 'schema', message: firstMsg ?? schemaMessage(validate) };
  const env = obj;
  const crc = env.crc === undefined ? undefined : checkLineCrc(b);
  // An unsafe seq cannot be tracked (it reads as another number), so such a line gives no envelope.
  const safeSeq = Number.isSafeInteger(env.seq);
  if (env.crc !== undefined && crc !== true) {
    const message = firstMsg ?? (crc === undefined ? 'crc is not the last member' : 'crc does not match the line (damaged after writing)');
    return safeSeq ? { problem: first ?? 'crc_mismatch', message, env, crc: false } : { problem: first ?? 'crc_mismatch', message, crc: false };
  }
  // Lines with a crc were sealed by a writer of this format (JSON.stringify: no duplicate keys);
  // lines without one get the strict reading.
  const ambiguous = (crc === undefined ? strictJsonProblem(text) : undefined) ?? unsafeSeqProblem(env.seq);
  if (ambiguous) return { problem: first ?? 'ambiguous_json', message: firstMsg ?? ambiguous, crc };
  return first ? { problem: first, message: firstMsg, env, crc } : { env, crc };
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

export function excerpt(bytes: Buffer, max = 80): string {
  const s = bytes.subarray(0, max * 4).toString('utf8');
  const cut = s.length > max ? s.slice(0, max) + '…' : s;
  return JSON.stringify(cut).slice(1, -1);
}
