/**
 * Strict JSON for lines without a crc (written by other tools): JSON.parse quietly keeps the last of
 * two equal keys and rounds integers past 2^53 − 1, so two readers of the same line can disagree on
 * what it says. This pass finds both in text that JSON.parse has already accepted.
 */

/** Where we are: one entry per open container; for objects, the keys seen and the current key. */
interface Level {
  keys: Set<string> | null;
  key: string;
}

function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j += 2;
    else if (c === 0x22 || Number.isNaN(c)) return j + 1;
    else j++;
  }
}

function numberEnd(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) j++;
    else return j;
  }
}

/** The field a value sits in (the current key of every open object). */
function where(stack: Level[]): string {
  const names = stack.filter((l) => l.keys).map((l) => l.key);
  return names.length ? `field ${JSON.stringify(names.join('.'))}` : 'the line';
}

/**
 * A message naming the first duplicate key or unsafe integer literal in `text` (valid JSON), or
 * undefined when there is none. Integers are literals without fraction or exponent whose magnitude is
 * over Number.MAX_SAFE_INTEGER.
 */
export function strictJsonProblem(text: string): string | undefined {
  const stack: Level[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      stack.push({ keys: c === 0x7b ? new Set() : null, key: '' });
      expectKey = c === 0x7b;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1]?.keys != null;
      i++;
    } else if (c === 0x22) {
      const j = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys) {
        const lit = text.slice(i, j);
        const key = lit.includes('\\') ? (JSON.parse(lit) as string) : lit.slice(1, -1);
        if (top.keys.has(key)) {
          const outer = stack.length > 1 ? where(stack.slice(0, -1)) : 'the envelope';
          return `duplicate key ${JSON.stringify(key)} in ${outer}: readers disagree on which value counts`;
        }
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const j = numberEnd(text, i);
      const lit = text.slice(i, j);
      if (j - i > 15 && /^-?\d+$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        return `${where(stack)}: integer ${lit} is beyond 2^53 − 1, where readers disagree on its value (JavaScript reads ${Number(lit)})`;
      }
      i = j;
    } else i++;
  }
  return undefined;
}

/** For lines with a crc (only the header is checked): a message when seq is not a safe integer. */
export function unsafeSeqProblem(seq: number): string | undefined {
  return Number.isSafeInteger(seq) ? undefined : `field "seq" is not an integer below 2^53 (it reads as ${seq}): readers disagree on its value`;
}
