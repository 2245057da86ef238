/**
 * A checkpoint directory as one file: an uncompressed POSIX tar (ustar) of its files under one
 * folder, so a page can offer it as a single download, `tar xf` unpacks it, and `llmts sample
 * --checkpoint run.tar` reads it as it is. Regular files only.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const enc = new TextEncoder();
  const put = (text: string, at: number) => h.set(enc.encode(text), at);
  const nameBytes = enc.encode(name);
  if (nameBytes.byteLength > 100) throw new Error(`tar: the name '${name}' is longer than 100 bytes`);
  h.set(nameBytes, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put('        ', 148); // the checksum counts its own field as spaces
  put('0', 156);
  put('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/**
 * The files as a tar archive under `folder/`.
 * @example const tar = tarFiles(new Map([['config.json', bytes]]), 'my-gpt');
 */
export function tarFiles(files: ReadonlyMap<string, Uint8Array>, folder: string, mtime = Math.floor(Date.now() / 1000)): Uint8Array {
  if (!/^[\w.-]+$/.test(folder)) throw new Error(`tar: folder '${folder}' must be a plain name (letters, digits, '.', '_', '-')`);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, data] of files) {
    if (name.includes('/') || name === '' || name === '.' || name === '..') throw new Error(`tar: '${name}' must be a plain file name`);
    const h = header(`${folder}/${name}`, data.byteLength, mtime);
    const padded = Math.ceil(data.byteLength / BLOCK) * BLOCK;
    parts.push(h, data);
    if (padded > data.byteLength) parts.push(new Uint8Array(padded - data.byteLength));
    total += BLOCK + padded;
  }
  parts.push(new Uint8Array(2 * BLOCK)); // two zero blocks end the archive
  total += 2 * BLOCK;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function field(block: Uint8Array, at: number, width: number): string {
  const bytes = block.subarray(at, at + width);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * The regular files of a tar archive by base name (one folder deep at most: a checkpoint's files).
 * `name` labels errors. Checksums are verified, so a truncated or foreign file is an error.
 */
export function untarFiles(bytes: Uint8Array, name = 'tar'): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  let at = 0;
  while (at + BLOCK <= bytes.byteLength) {
    const h = bytes.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) return files;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    const stored = parseInt(field(h, 148, 8).trim(), 8);
    if (stored !== sum) throw new Error(`${name}: not a tar archive (bad header checksum at byte ${at})`);
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    const path = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const start = at + BLOCK;
    if (start + size > bytes.byteLength) throw new Error(`${name}: truncated: '${path}' needs ${size} bytes, the archive ends first`);
    if (type === '0' || type === '\0') {
      const parts = path.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.length > 2 || parts.includes('..')) throw new Error(`${name}: '${path}' is nested deeper than one folder`);
      files.set(parts[parts.length - 1]!, bytes.slice(start, start + size));
    }
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new Error(`${name}: truncated tar archive (no end-of-archive blocks)`);
}
