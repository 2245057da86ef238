/**
 * safetensors, the format PyTorch and Hugging Face read: an 8-byte little-endian header length,
 * a JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
 * Reading validates everything before any tensor is made, so a bad file is an error naming the
 * file and what is wrong, never a half-loaded model.
 */
import { host } from '#host';
import type { ReadableFile } from '../host/types.ts';
import type { DType, TypedArray } from '../dtype.ts';
import type { Device } from '../backend/types.ts';
import { Tensor } from '../tensor.ts';
import { fromArray } from '../ops/create.ts';
import { fromHalfBits, toHalfBits } from '../backend/webgpu/half.ts';
import { writeFileAtomic } from './atomic.ts';

type StDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const ITEM: Record<StDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsEntry {
  dtype: StDtype;
  shape: number[];
  /** Byte range within the data section. */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  dataStart: number;
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}`);
}

/**
 * Parse and check the header of a safetensors file: `bytes` holds at least its first 8 + n bytes,
 * `totalBytes` is the whole file's size (the data section is checked against it).
 */
export function parseHeader(bytes: Uint8Array, file = 'safetensors', totalBytes = bytes.byteLength): SafetensorsHeader {
  if (totalBytes < 8) fail(file, `truncated: ${totalBytes} bytes, but a safetensors file starts with an 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > totalBytes - 8) fail(file, `truncated or not safetensors: the header claims ${n} bytes but the file has ${totalBytes - 8} after the length`);
  if (n > 100_000_000) fail(file, `header of ${n} bytes is implausibly large (not a safetensors file?)`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(file, 'header must be a JSON object');
  const dataStart = 8 + n;
  const dataBytes = totalBytes - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(e.dtype in ITEM)) fail(file, `tensor '${name}' has unsupported dtype ${JSON.stringify(e?.dtype)} (supported: ${Object.keys(ITEM).join(', ')})`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0)) fail(file, `tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0) || off[1] < off[0]) {
      fail(file, `tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const dtype = e.dtype as StDtype;
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * ITEM[dtype];
    if (off[1] - off[0] !== want) fail(file, `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${want} bytes but its data_offsets span ${off[1] - off[0]}`);
    if (off[1] > dataBytes) fail(file, `truncated: tensor '${name}' needs bytes up to ${off[1]} of the data section, which has ${dataBytes}`);
    entries.set(name, { dtype, shape, offsets: [off[0], off[1]] });
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string')) {
    fail(file, '__metadata__ must be an object of strings');
  }
  // as the reference implementation requires: the tensors tile the data section, no overlap, no gap
  const ranges = [...entries].sort((a, b) => a[1].offsets[0] - b[1].offsets[0] || a[1].offsets[1] - b[1].offsets[1]);
  let end = 0;
  for (const [name, e] of ranges) {
    if (e.offsets[0] < end) fail(file, `tensor '${name}' has data_offsets ${JSON.stringify(e.offsets)} overlapping the previous tensor's bytes (up to ${end})`);
    if (e.offsets[0] > end) fail(file, `tensor '${name}' starts at byte ${e.offsets[0]} of the data section, leaving a gap after byte ${end}`);
    end = e.offsets[1];
  }
  if (end !== dataBytes) fail(file, `the tensors cover ${end} bytes of the data section, but it has ${dataBytes} (trailing bytes or a damaged file)`);
  return { entries, metadata, dataStart };
}

/** Decode one entry's bytes (`raw`, exactly its data) into host values and our dtype. */
function decode(raw: ArrayBuffer, name: string, e: SafetensorsEntry, file: string): { data: TypedArray; dtype: DType } {
  switch (e.dtype) {
    case 'F32': return { data: new Float32Array(raw), dtype: 'float32' };
    case 'F64': return { data: new Float64Array(raw), dtype: 'float64' };
    case 'F16': return { data: Float32Array.from(new Uint16Array(raw), fromHalfBits), dtype: 'float16' };
    case 'BF16': return { data: Float32Array.from(new Uint16Array(raw), (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!), dtype: 'float32' };
    case 'I32': return { data: new Int32Array(raw), dtype: 'int32' };
    case 'I16': return { data: Int32Array.from(new Int16Array(raw)), dtype: 'int32' };
    case 'I8': return { data: Int32Array.from(new Int8Array(raw)), dtype: 'int32' };
    case 'U8': return { data: Int32Array.from(new Uint8Array(raw)), dtype: 'int32' };
    case 'BOOL': return { data: new Uint8Array(raw), dtype: 'bool' };
    case 'I64': {
      const big = new BigInt64Array(raw);
      const out = new Int32Array(big.length);
      for (let i = 0; i < big.length; i++) {
        const v = big[i]!;
        if (v > 2147483647n || v < -2147483648n) fail(file, `tensor '${name}' holds int64 value ${v}, which does not fit int32`);
        out[i] = Number(v);
      }
      return { data: out, dtype: 'int32' };
    }
  }
}

export interface LoadOptions {
  device?: Device;
  /** Convert every floating point tensor to this dtype (e.g. float32). */
  floatDtype?: DType;
  /** Load only these names. */
  only?: readonly string[];
  /** Refuse floating point tensors holding NaN or ±Infinity (weights must be finite). */
  finite?: boolean;
}

/** A tensor read back from a file: host values, our dtype and its shape. */
export interface HostTensor {
  data: TypedArray;
  dtype: DType;
  shape: number[];
}

/** A file's bytes already in memory (a page's fetch() or File), read like a file. */
function bytesFile(bytes: Uint8Array): ReadableFile {
  return {
    size: bytes.byteLength,
    read(into, position) {
      const n = Math.max(0, Math.min(into.byteLength, bytes.byteLength - position));
      into.set(bytes.subarray(position, position + n));
      return n;
    },
    close() {},
  };
}

/**
 * A safetensors file opened for reading tensor by tensor: only the header is read up front, and
 * each `read` reads one tensor's bytes, so loading never holds the whole file in memory. In a
 * browser page, `fromBytes` reads the bytes of a fetch() or a dropped File the same way.
 * @example const f = SafetensorsReader.open('model.safetensors'); const w = f.read('wte.weight'); f.close();
 */
export class SafetensorsReader {
  private file: ReadableFile | null;

  private constructor(readonly path: string, file: ReadableFile, readonly header: SafetensorsHeader) {
    this.file = file;
  }

  /** Open and validate a file (its header, and that the data section is complete). Node only. */
  static open(path: string): SafetensorsReader {
    let file: ReadableFile;
    try {
      file = host.openRead(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') fail(path, 'no such file');
      if (code === 'EISDIR') fail(path, 'is a directory, expected a .safetensors file');
      throw e;
    }
    return SafetensorsReader.over(file, path);
  }

  /**
   * Validate and read a safetensors file held in memory (`name` is used in error messages).
   * @example const f = SafetensorsReader.fromBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()), 'model.safetensors');
   */
  static fromBytes(bytes: Uint8Array, name = 'safetensors'): SafetensorsReader {
    return SafetensorsReader.over(bytesFile(bytes), name);
  }

  private static over(file: ReadableFile, path: string): SafetensorsReader {
    try {
      const size = file.size;
      let bytes = new Uint8Array(Math.min(size, 8));
      file.read(bytes, 0);
      if (size >= 8) {
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        if (n <= size - 8 && n <= 100_000_000) {
          bytes = new Uint8Array(8 + n);
          file.read(bytes, 0);
        }
      }
      return new SafetensorsReader(path, file, parseHeader(bytes, path, size));
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Tensor names in the file. */
  names(): string[] {
    return [...this.header.entries.keys()];
  }

  /** One tensor's host values (float16/bfloat16 widened to float32; refuses non-finite values when `finite`). */
  read(name: string, options: { finite?: boolean } = {}): HostTensor {
    const e = this.header.entries.get(name);
    if (e === undefined) fail(this.path, `has no tensor named '${name}'`);
    if (this.file === null) fail(this.path, `is closed (reading tensor '${name}')`);
    const length = e.offsets[1] - e.offsets[0];
    const raw = new ArrayBuffer(length);
    let got = 0;
    while (got < length) {
      const n = this.file.read(new Uint8Array(raw, got), this.header.dataStart + e.offsets[0] + got);
      if (n === 0) fail(this.path, `truncated while reading tensor '${name}'`);
      got += n;
    }
    const { data, dtype } = decode(raw, name, e, this.path);
    if (options.finite && (data instanceof Float32Array || data instanceof Float64Array)) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i]!)) fail(this.path, `tensor '${name}' holds ${data[i]} at flat index ${i} (weights must be finite)`);
      }
    }
    return { data, dtype, shape: e.shape };
  }

  /** Close the file (safe to call twice). */
  close(): void {
    this.file?.close();
    this.file = null;
  }
}

/** Read a safetensors file's header (names, dtypes, shapes, metadata) without loading data. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const f = SafetensorsReader.open(path);
  f.close();
  return f.header;
}

/**
 * Load every tensor of a safetensors file (validated first; nothing is made if anything is wrong),
 * reading one tensor at a time.
 * @example const { tensors, metadata } = loadSafetensors('model.safetensors', { device: 'gpu' });
 */
export function loadSafetensors(path: string, options: LoadOptions = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return loadFrom(SafetensorsReader.open(path), options);
}

/**
 * `loadSafetensors` for a file held in memory (a browser page's fetch() or File bytes).
 * @example const { tensors } = loadSafetensorsFromBytes(new Uint8Array(await file.arrayBuffer()));
 */
export function loadSafetensorsFromBytes(bytes: Uint8Array, options: LoadOptions & { name?: string } = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  return loadFrom(SafetensorsReader.fromBytes(bytes, options.name), options);
}

function loadFrom(file: SafetensorsReader, options: LoadOptions): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const path = file.path;
  try {
    const names = options.only ?? file.names();
    for (const n of names) if (!file.header.entries.has(n)) fail(path, `has no tensor named '${n}'`);
    const decoded = names.map((name) => ({ name, ...file.read(name, { finite: options.finite }) }));
    const tensors: Record<string, Tensor> = {};
    for (const d of decoded) {
      let dtype = d.dtype;
      if (options.floatDtype && (dtype === 'float32' || dtype === 'float16' || dtype === 'float64')) dtype = options.floatDtype;
      if (options.device === 'gpu' && dtype === 'float64') dtype = 'float32';
      tensors[d.name] = fromArray(d.data, d.shape, { dtype, device: options.device ?? 'cpu' });
    }
    return { tensors, metadata: file.header.metadata };
  } finally {
    file.close();
  }
}

const ST_OF: Record<DType, StDtype> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', bool: 'BOOL' };

/** Serialise tensors (read back from their devices) into safetensors bytes. */
export async function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array[]> {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const values = await t.data();
    let bytes: Uint8Array;
    if (t.dtype === 'float16') bytes = new Uint8Array(Uint16Array.from(values, toHalfBits).buffer);
    else {
      const typed = t.dtype === 'float32' ? Float32Array.from(values) : t.dtype === 'float64' ? Float64Array.from(values) : t.dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
      bytes = new Uint8Array(typed.buffer);
    }
    header[name] = { dtype: ST_OF[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20); // spaces up to a multiple of 8
  padded.set(json);
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded.byteLength), true);
  return [head, padded, ...chunks];
}

/**
 * Tensors as the bytes of a safetensors file, in one array (what a page offers as a download or
 * keeps in memory; `loadSafetensorsFromBytes` and Python's `safetensors` read it).
 * @example const bytes = await safetensorsBytes(model.stateDict());
 */
export async function safetensorsBytes(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const chunks = await encodeSafetensors(tensors, metadata);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Write tensors to a safetensors file atomically (readable by Python's `safetensors`).
 * @example await saveSafetensors('model.safetensors', model.stateDict(), { format: 'pt' });
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  writeFileAtomic(path, await encodeSafetensors(tensors, metadata));
}
