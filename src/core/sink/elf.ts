import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Is this ELF shared object shorter than its loadable segments? dlopen maps a cut-short binary
 * without complaint and the first touch of a page past the end of the file raises SIGBUS, which
 * kills the whole process (in VS Code the extension host, with every other extension) — nothing
 * a try/catch around require() can stop. An interrupted copy or extraction, or a full disk, leaves
 * such a file. Returns why (no path) when it is cut short; undefined when it is whole, missing, or
 * not ELF (Mach-O and PE are left to their loaders).
 */
export function truncatedElf(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const name = path.basename(file);
    const h = Buffer.alloc(64);
    const n = fs.readSync(fd, h, 0, h.length, 0);
    if (n < 6 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    if (n < (is64 ? 64 : 52)) return `${name} is truncated (${size} bytes, not even its ELF header)`;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const phoff = word(h, is64 ? 0x20 : 0x1c);
    const table = Buffer.alloc(u16(h, is64 ? 0x36 : 0x2a) * u16(h, is64 ? 0x38 : 0x2c));
    const entry = table.length / Math.max(1, u16(h, is64 ? 0x38 : 0x2c));
    let end = phoff + table.length;
    if (end <= size && table.length > 0) {
      fs.readSync(fd, table, 0, table.length, phoff);
      for (let o = 0; o + entry <= table.length; o += entry) {
        if (u32(table, o) !== 1) continue; // PT_LOAD: p_offset and p_filesz say which bytes get mapped
        end = Math.max(end, word(table, o + (is64 ? 8 : 4)) + word(table, o + (is64 ? 32 : 16)));
      }
    }
    return end > size ? `${name} is truncated (${size} of at least ${end} bytes)` : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The first cut-short binary among koffi's builds for this platform and CPU (koffi picks among them). */
export function truncatedKoffiBinary(koffiDir: string): string | undefined {
  const builds = path.join(koffiDir, 'build', 'koffi');
  let triplets: string[];
  try {
    triplets = fs.readdirSync(builds);
  } catch {
    return undefined;
  }
  const prefixes = [`${process.platform}_${process.arch}`, ...(process.platform === 'linux' ? [`musl_${process.arch}`] : [])];
  for (const t of triplets) {
    // linux_x64, linux_armhf for arm, linux_riscv64d for riscv64 — not linux_arm64 for arm.
    if (!prefixes.some((p) => t.startsWith(p) && !/^[0-9]/.test(t.slice(p.length)))) continue;
    const why = truncatedElf(path.join(builds, t, 'koffi.node'));
    if (why) return why;
  }
  return undefined;
}
