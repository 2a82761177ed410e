import * as zlib from 'node:zlib';

/**
 * CRC-32 (IEEE, the zlib/PNG polynomial) of UTF-8 bytes.
 * Uses zlib.crc32 when the runtime has it (Node >= 20.15 / 22.2) and a table otherwise
 * (older Electron builds of VS Code run an older Node).
 */
type Crc = (data: string | Uint8Array, prev?: number) => number;

let table: Uint32Array | undefined;
function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

export function crc32Table(data: string | Uint8Array, prev = 0): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const t = (table ??= makeTable());
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: Crc }).crc32;
export const crc32: Crc = typeof native === 'function' ? native : crc32Table;
