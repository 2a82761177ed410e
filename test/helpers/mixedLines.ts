/**
 * Mixed events files for fast-vs-full differential tests (statistics and the shipper): sealed
 * canonical lines of every kind the aggregates and rows read, plus lines only the full path can
 * read or that are damaged (foreign, torn, bad crc, reordered members, escapes, odd timestamps).
 */
import { buildLine } from '../../src/core/sink/envelope';

export const NOW = Date.parse('2026-03-10T12:00:00Z');

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let idn = 0;
const id = (): string => `00000000-0000-4000-8000-${String(++idn).padStart(12, '0')}`;
/** A sealed (crc'd, canonical) line with any header values, raw JSON text for type, source and data. */
const sealed = (ts: string, type: string, data: string, sid = 'aaaaaaaa-0000-4000-8000-000000000001', source = '"vscode"', seq = idn): string => buildLine(id(), ts, sid, seq, type, source, data);

const LANGS = ['go', 'python', '__proto__', 'constructor', 'ü-lang', ''];
const MODELS = ['m1', 'qwen2.5-coder:7b', 'toString', '"quoted"', 'x'.repeat(200)];

/** A canonical line of a random kind at about time t. */
export function canonicalLine(r: () => number, t: number): string {
  const ts = new Date(t).toISOString();
  const lang = LANGS[Math.floor(r() * LANGS.length)]!;
  const sid = `5e55${String(Math.floor(r() * 7)).padStart(4, '0')}-0000-4000-8000-000000000000`;
  const k = Math.floor(r() * 8);
  const kinds = ['shown', 'accepted', 'partially_accepted', 'rejected', 'error', 'bogus'];
  switch (k) {
    case 0:
    case 1: {
      const kind = kinds[Math.floor(r() * kinds.length)]!;
      const data: Record<string, unknown> = { kind, detection: r() < 0.2 ? 'heuristic' : 'reported', 'gen_ai.provider.name': r() < 0.8 ? 'ollama' : undefined, extension: 'github.copilot', 'gen_ai.request.model': MODELS[Math.floor(r() * MODELS.length)], latency_ms: r() < 0.1 ? -3 : Math.floor(r() * 2000), 'gen_ai.usage.input_tokens': Math.floor(r() * 900), chars: r() < 0.1 ? '12' : Math.floor(r() * 90), lines: 2, language_id: lang, is_local: r() < 0.4 ? true : r() < 0.5 ? false : 'yes' };
      return sealed(ts, JSON.stringify(`ai.completion.${kind}`), JSON.stringify(data), sid);
    }
    case 2:
    case 3:
      return sealed(ts, '"editor.document.change"', JSON.stringify({ language_id: lang, changes: Math.floor(r() * 9), chars_inserted: Math.floor(r() * 50), chars_deleted: 1e13, duration_ms: Math.floor(r() * 400_000) }), sid);
    case 4:
      return sealed(ts, '"editor.document.save"', JSON.stringify({ language_id: lang }), sid, r() < 0.5 ? '"cli"' : '"api:my.ext"');
    case 5:
      return sealed(ts, '"session.end"', JSON.stringify({ stats: { written: 10, lock_wait_ms: { p50: 0.1, p99: 3, max: 9 }, dropped: 0 } }), sid, '"http"');
    case 6:
      return sealed(ts, '"window.focus"', JSON.stringify({ focused: r() < 0.5 }), sid);
    default:
      return sealed(ts, '"x.custom_type"', '{"a":[1,{"b":null}],"s":"\\"\\\\\\u00e9"}', sid);
  }
}

/** Lines the fast path must decline or that only the full path can read — each as a writer could leave it. */
export function oddLines(t: number): string[] {
  const ts = new Date(t).toISOString();
  const good = sealed(ts, '"editor.document.save"', '{"language_id":"go"}');
  const lines = [
    // Timestamps Date.parse reads differently from field arithmetic, sealed with a matching crc.
    sealed('2026-13-01T00:00:00.000Z', '"window.focus"', '{}'),
    sealed('2026-02-30T10:00:00.000Z', '"editor.document.save"', '{"language_id":"feb30"}'),
    sealed('2026-03-09T24:00:00.000Z', '"editor.document.save"', '{"language_id":"h24"}'),
    sealed('2026-03-09T24:00:01.000Z', '"editor.document.save"', '{"language_id":"h24b"}'),
    sealed('2026-03-09T23:60:00.000Z', '"window.focus"', '{}'),
    sealed('2026-03-09T23:59:60.000Z', '"window.focus"', '{}'),
    sealed('0050-03-09T10:00:00.000Z', '"window.focus"', '{}'),
    sealed('1969-12-31T23:59:59.999Z', '"window.focus"', '{}'),
    sealed('9999-12-31T00:00:00.001Z', '"window.focus"', '{}'),
    sealed('9999-12-30T23:59:59.999Z', '"window.focus"', '{}'),
    // Data the aggregates read, written oddly: escapes, duplicate keys (the last wins), prototypes.
    sealed(ts, '"editor.document.change"', '{"language\\u005fid":"esc","changes":1,"changes":7,"duration_ms":60000}'),
    sealed(ts, '"ai.completion.accepted"', '{"kind":"accepted","__proto__":{"chars":5},"chars":9,"chars":3,"gen_ai.request.model":"dup","gen_ai.request.model":"dup2","is_local":true}'),
    sealed(ts, '"editor.document.change"', '{ "language_id" : "spaced" ,\t"changes" : 2 }'),
    sealed(ts, '"session.end"', '{"stats":null}'),
    sealed(ts, '"editor.document.save"', '{"language_id":"\\ud83d\\ude00 \u00e9"}'),
    // Header fields the scanner leaves to the full path.
    sealed(ts, '"editor.document.save"', '{"language_id":"sid-escape"}', 'a\\"b'),
    sealed(ts, '"editor.document.s\\u0061ve"', '{"language_id":"type-escape"}'),
    // Damage: crc mismatch (same length), no crc, reordered members, CRLF, BOM, blank, not JSON, NUL, a data array.
    good.replace('"go"', '"GO"'),
    `{"v":1,"id":"${id()}","ts":"${ts}","sid":"nocrc","seq":1,"type":"editor.document.save","source":"vscode","data":{"language_id":"nocrc"}}\n`,
    `{"id":"${id()}","v":1,"ts":"${ts}","sid":"reorder","seq":1,"type":"window.focus","source":"vscode","data":{}}\n`,
    good.replace('\n', '\r\n'),
    '\ufeff' + good,
    '\n',
    '   \n',
    'not json at all\n',
    'null\n',
    '[1,2]\n',
    '{"type":"window.focus","ts":"yesterday","sid":"s"}\n',
    '{"type":"window.focus","ts":"2026-03-09T10:00:00Z","sid":"s","data":[1]}\n',
    good.slice(0, 40) + '\u0000\u0000' + good.slice(42),
    good,
  ];
  return lines;
}

export function generate(seed: number, n: number): string {
  const r = rng(seed);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = NOW - Math.floor(r() * 40 * 86_400_000);
    if (r() < 0.04) {
      const odd = oddLines(t);
      parts.push(odd[Math.floor(r() * odd.length)]!);
    } else parts.push(canonicalLine(r, t));
  }
  return parts.join('');
}

