/**
 * Byte-level JSON validation with exactly the grammar JSON.parse accepts (RFC 8259), building
 * nothing: used by the fast scanner for a crc'd line's `data` object. Strings must be valid UTF-8
 * (checked inline with Buffer isUtf8's rules: no overlongs, no surrogates, nothing past U+10FFFF).
 * One loop with the common tokens inline (it runs over every data byte of every line); escapes,
 * UTF-8 and unusual numbers take helpers. Nesting deeper than MAX_DEPTH answers "unsure" (-1).
 */
const MAX_DEPTH = 512;
const stack = new Uint8Array(MAX_DEPTH);
const OBJ = 1;
const ARR = 2;

/** Bytes that stand for themselves inside a string: 0x20–0x7f except `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;
const ESC = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESC[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** One UTF-8 sequence whose lead byte (>= 0x80) is at p: its end, or -1 when malformed. */
function utf8Seq(b: Uint8Array, p: number, end: number): number {
  const c = b[p]!;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return -1;
  if (p + n >= end) return -1;
  const c1 = b[p + 1]!;
  if (c1 < lo || c1 > hi) return -1;
  for (let k = 2; k <= n; k++) {
    const ck = b[p + k]!;
    if (ck < 0x80 || ck > 0xbf) return -1;
  }
  return p + n + 1;
}

/** The rest of a string from i (inside it, at a byte that is not plain): its end after the quote, or -1. */
function stringRest(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    if (PLAIN[c] === 1) i++;
    else if (c === 0x22) return i + 1;
    else if (c === 0x5c) {
      const e = i + 1 < end ? b[i + 1]! : 0;
      if (ESC[e] === 1) i += 2;
      else if (e === 0x75 && i + 6 <= end && HEX[b[i + 2]!] && HEX[b[i + 3]!] && HEX[b[i + 4]!] && HEX[b[i + 5]!]) i += 6;
      else return -1;
    } else if (c < 0x80) return -1; // a control character
    else {
      i = utf8Seq(b, i, end);
      if (i < 0) return -1;
    }
  }
  return -1;
}

/** A JSON string whose opening quote is at p: the index after its closing quote, or -1. */
export function skipJsonString(b: Uint8Array, p: number, end: number): number {
  let i = p + 1;
  while (i < end && PLAIN[b[i]!] === 1) i++;
  return i < end && b[i] === 0x22 ? i + 1 : stringRest(b, i, end);
}

/** A JSON number at p: the index after it, or -1. `-? (0|[1-9]\d*) (\.\d+)? ([eE][+-]?\d+)?` */
export function skipJsonNumber(b: Uint8Array, p: number, end: number): number {
  let i = p;
  if (b[i] === 0x2d) i++;
  if (i >= end) return -1;
  if (b[i] === 0x30) i++;
  else if (b[i]! >= 0x31 && b[i]! <= 0x39) while (i < end && isDigit(b[i])) i++;
  else return -1;
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i])) return -1;
    while (i < end && isDigit(b[i])) i++;
  }
  return i;
}

/** true, false or null at p: the index after it, or -1. */
function skipLiteral(b: Uint8Array, p: number, end: number): number {
  const c = b[p];
  if (c === 0x74) return p + 4 <= end && b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65 ? p + 4 : -1;
  if (c === 0x6e) return p + 4 <= end && b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c ? p + 4 : -1;
  if (c === 0x66) return p + 5 <= end && b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65 ? p + 5 : -1;
  return -1;
}

function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end && isWs(b[i])) i++;
  return i;
}

/** A scalar value at i (string, number, literal): its end, or -1. */
function scalar(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  if (c === 0x22) return skipJsonString(b, i, end);
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return skipJsonNumber(b, i, end);
  return skipLiteral(b, i, end);
}

/**
 * The common shape first: a flat object of "key":scalar members written without whitespace (what
 * JSON.stringify makes of small event data), in one tight loop. Its end, or -1 for anything else
 * (nesting, whitespace, escapes, unusual numbers, invalid JSON) — the general routine decides then.
 */
function flatObject(b: Uint8Array, p: number, end: number): number {
  let i = p + 1;
  if (i < end && b[i] === 0x7d) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== 0x22) return -1;
    while (++i < end && PLAIN[b[i]!] === 1);
    if (i + 2 >= end || b[i] !== 0x22 || b[i + 1] !== 0x3a) return -1;
    i += 2;
    let c = b[i]!;
    if (c === 0x22) {
      while (++i < end && PLAIN[b[i]!] === 1);
      if (i >= end || b[i] !== 0x22) return -1;
      i++;
    } else if (c >= 0x31 && c <= 0x39) {
      while (++i < end && (c = b[i]!) >= 0x30 && c <= 0x39);
    } else if (c === 0x30) i++;
    else if (c === 0x74 || c === 0x66 || c === 0x6e) i = skipLiteral(b, i, end);
    else return -1;
    if (i < 0 || i >= end) return -1;
    c = b[i]!;
    if (c === 0x2c) i++;
    else return c === 0x7d ? i + 1 : -1;
  }
}

/**
 * The JSON object whose `{` is at p, read no further than `end`: the index just after its closing
 * `}`, or -1 when it is not valid JSON within [p, end) (or nests deeper than the scanner goes).
 */
export function skipJsonObject(b: Uint8Array, p: number, end: number): number {
  if (b[p] !== 0x7b) return -1;
  const flat = flatObject(b, p, end);
  return flat > 0 ? flat : anyObject(b, p, end);
}

/** The general routine: iterative (an explicit stack), so deep nesting cannot overflow the call stack. */
function anyObject(b: Uint8Array, p: number, end: number): number {
  let sp = 0;
  stack[sp++] = OBJ;
  let i = p + 1;
  let opened = true; // just after a bracket: the container may close at once
  for (;;) {
    // A member (object: "key": value) or an element (array: value), or a close right after opening.
    if (isWs(b[i])) i = skipWs(b, i, end);
    if (i >= end) return -1;
    let c = b[i]!;
    if (opened && (c === 0x7d || c === 0x5d)) {
      if ((c === 0x7d) !== (stack[sp - 1] === OBJ)) return -1;
      i++;
      sp--;
    } else {
      if (stack[sp - 1] === OBJ) {
        if (c !== 0x22) return -1;
        i = skipJsonString(b, i, end);
        if (i < 0) return -1;
        if (i >= end || b[i] !== 0x3a) {
          i = skipWs(b, i, end);
          if (i >= end || b[i] !== 0x3a) return -1;
        }
        i++;
        if (isWs(b[i])) i = skipWs(b, i, end);
        if (i >= end) return -1;
        c = b[i]!;
      }
      if (c === 0x7b || c === 0x5b) {
        if (sp === MAX_DEPTH) return -1;
        stack[sp++] = c === 0x7b ? OBJ : ARR;
        i++;
        opened = true;
        continue;
      }
      i = scalar(b, i, end);
      if (i < 0) return -1;
    }
    // After a value or a closed container: `,` goes on, the matching bracket closes.
    for (;;) {
      if (sp === 0) return i;
      if (isWs(b[i])) i = skipWs(b, i, end);
      if (i >= end) return -1;
      c = b[i]!;
      if (c === 0x2c) {
        i++;
        opened = false;
        break;
      }
      if (c !== (stack[sp - 1] === OBJ ? 0x7d : 0x5d)) return -1;
      i++;
      sp--;
    }
  }
}

/** Where `memberOf` found a value: [valueStart, valueEnd) of the last member with the key. */
export const member = { start: -1, end: -1 };

/**
 * Finds the top-level member `key` (plain ASCII bytes) of the valid JSON object at [p, end) as
 * JSON.parse would (the last of equal keys wins): true with `member` set, false when absent.
 * Throws nothing; returns undefined when unsure (a key written with escapes): parse the line instead.
 */
export function memberOf(b: Uint8Array, p: number, end: number, key: Uint8Array): boolean | undefined {
  let found = false;
  let i = skipWs(b, p + 1, end);
  if (b[i] === 0x7d) return false;
  for (;;) {
    const ks = i + 1;
    const ke = skipJsonString(b, i, end) - 1;
    if (ke < ks) return undefined;
    let same = ke - ks === key.length;
    for (let k = ks; k < ke; k++) {
      if (b[k] === 0x5c) return undefined;
      if (same && b[k] !== key[k - ks]) same = false;
    }
    i = skipWs(b, skipWs(b, ke + 1, end) + 1, end); // past the colon
    const vs = i;
    i = skipValue(b, i, end);
    if (i < 0) return undefined;
    if (same) {
      found = true;
      member.start = vs;
      member.end = i;
    }
    i = skipWs(b, i, end);
    if (b[i] !== 0x2c) return found;
    i = skipWs(b, i + 1, end);
  }
}

/** Any JSON value at i (already known valid): its end, or -1. */
export function skipValue(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c !== 0x7b && c !== 0x5b) return scalar(b, i, end);
  if (c === 0x7b) return skipJsonObject(b, i, end);
  // An array of valid JSON: find its bracket, stepping over strings.
  let depth = 0;
  for (let j = i; j < end; j++) {
    const x = b[j];
    if (x === 0x22) {
      const e = skipJsonString(b, j, end);
      if (e < 0) return -1;
      j = e - 1;
    } else if (x === 0x5b || x === 0x7b) depth++;
    else if ((x === 0x5d || x === 0x7d) && --depth === 0) return j + 1;
  }
  return -1;
}
