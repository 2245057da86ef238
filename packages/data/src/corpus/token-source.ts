/**
 * Reading tokens from a flat little-endian uint16/uint32 file without loading it: through the
 * native mmap addon (mapped in windows of at most 1 GiB, since Node 20 refuses ArrayBuffers over
 * 4 GiB) or through positional reads (`fs.readSync` at an offset) when the addon is not built.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { noticeOnce } from '@llmts/tensor/internal';

export type TokenDtype = 'uint16' | 'uint32';
export type ReadBackend = 'mmap' | 'pread';

export interface TokenSource {
  readonly path: string;
  readonly backend: ReadBackend;
  readonly length: number;
  /** Copy tokens [start, start + count) into `into` at `at`. */
  read(start: number, count: number, into: Int32Array, at: number): void;
  close(): void;
}

interface MmapAddon {
  map(fd: number, offset: number, length: number): ArrayBuffer;
  pageSize(): number;
}

let addon: MmapAddon | null | undefined;

/** The mmap addon when it was built (native/build.mjs, run on install when allowed), else null. */
export function mmapAddon(): MmapAddon | null {
  if (addon !== undefined) return addon;
  try {
    const require = createRequire(import.meta.url);
    addon = require(fileURLToPath(new URL('../../build/llmts_mmap.node', import.meta.url))) as MmapAddon;
  } catch {
    addon = null;
  }
  return addon;
}

const BUILD_HINT = 'it needs a C compiler: node node_modules/@llmts/data/native/build.mjs';
const WINDOW_BYTES = 1 << 30;

function openFile(path: string, itemSize: number): { fd: number; length: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open token file (${(e as Error).message})`);
  }
  const size = fstatSync(fd).size;
  if (size % itemSize !== 0) {
    closeSync(fd);
    throw new Error(`${path}: size ${size} is not a multiple of ${itemSize} bytes per token (wrong dtype or truncated file)`);
  }
  return { fd, length: size / itemSize };
}

class MmapSource implements TokenSource {
  readonly backend = 'mmap';
  readonly length: number;
  private readonly fd: number;
  private readonly windows = new Map<number, Uint16Array | Uint32Array>();
  private readonly itemSize: number;
  private readonly tokensPerWindow: number;

  constructor(readonly path: string, dtype: TokenDtype, private readonly lib: MmapAddon) {
    this.itemSize = dtype === 'uint16' ? 2 : 4;
    ({ fd: this.fd, length: this.length } = openFile(path, this.itemSize));
    this.tokensPerWindow = WINDOW_BYTES / this.itemSize;
  }

  private window(w: number): Uint16Array | Uint32Array {
    let view = this.windows.get(w);
    if (view === undefined) {
      const first = w * this.tokensPerWindow;
      const count = Math.min(this.tokensPerWindow, this.length - first);
      const buf = this.lib.map(this.fd, first * this.itemSize, count * this.itemSize);
      view = this.itemSize === 2 ? new Uint16Array(buf) : new Uint32Array(buf);
      this.windows.set(w, view);
    }
    return view;
  }

  read(start: number, count: number, into: Int32Array, at: number): void {
    if (start < 0 || start + count > this.length) throw new Error(`${this.path}: tokens [${start}, ${start + count}) are outside the file's ${this.length}`);
    let done = 0;
    while (done < count) {
      const pos = start + done;
      const w = Math.floor(pos / this.tokensPerWindow);
      const view = this.window(w);
      const local = pos - w * this.tokensPerWindow;
      const n = Math.min(count - done, view.length - local);
      into.set(view.subarray(local, local + n), at + done);
      done += n;
    }
  }

  close(): void {
    this.windows.clear();
    closeSync(this.fd);
  }
}

class PreadSource implements TokenSource {
  readonly backend = 'pread';
  readonly length: number;
  private readonly fd: number;
  private readonly itemSize: number;
  private scratch = new Uint8Array(0);

  constructor(readonly path: string, private readonly dtype: TokenDtype) {
    this.itemSize = dtype === 'uint16' ? 2 : 4;
    ({ fd: this.fd, length: this.length } = openFile(path, this.itemSize));
  }

  read(start: number, count: number, into: Int32Array, at: number): void {
    if (start < 0 || start + count > this.length) throw new Error(`${this.path}: tokens [${start}, ${start + count}) are outside the file's ${this.length}`);
    const bytes = count * this.itemSize;
    if (this.scratch.byteLength < bytes) this.scratch = new Uint8Array(Math.max(bytes, 65536));
    let got = 0;
    while (got < bytes) {
      const n = readSync(this.fd, this.scratch, got, bytes - got, start * this.itemSize + got);
      if (n === 0) throw new Error(`${this.path}: unexpected end of file at token ${start + got / this.itemSize}`);
      got += n;
    }
    const view = this.dtype === 'uint16' ? new Uint16Array(this.scratch.buffer, 0, count) : new Uint32Array(this.scratch.buffer, 0, count);
    into.set(view, at);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Open a token file with mmap when available (or as asked), else positional reads. */
export function openTokenSource(path: string, dtype: TokenDtype, backend: ReadBackend | 'auto' = 'auto'): TokenSource {
  const lib = mmapAddon();
  if (backend === 'mmap' && lib === null) throw new Error(`openTokenSource: the mmap addon is not built (${BUILD_HINT}); use positional reads`);
  if (backend !== 'pread' && lib !== null) return new MmapSource(path, dtype, lib);
  if (backend === 'auto') noticeOnce('mmap-addon', `the mmap addon is not built (${BUILD_HINT}); token files are read with positional reads`);
  return new PreadSource(path, dtype);
}
