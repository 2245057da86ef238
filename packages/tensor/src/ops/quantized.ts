/**
 * Weight-only quantization for inference: a weight [rows, cols] stored as int8 with one scale per
 * row (per output channel), or int4 with one scale per group of 32 values along a row, packed into
 * int32 words (little-endian bytes; int4 as two nibbles per byte, low first). Matmul and embedding
 * lookups dequantize on the fly, on the CPU (WebAssembly SIMD, or plain TypeScript) and the GPU
 * (the packed words stay on the device). No gradients: these are for sampling and scoring.
 */
import type { Kernel } from '../backend/types.ts';
import { getBackend } from '../backend/registry.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { heapAddress, wasmKernels } from '../backend/cpu/wasm.ts';
import { fmt } from '../shape.ts';
import type { Device } from '../backend/types.ts';
import { fromArray } from './create.ts';
import { runKernel } from './apply.ts';
import { noGrad } from '../autograd/mode.ts';
import type { Tensor } from '../tensor.ts';
import { cachedSource, entry, errorBinding, header, wordAsInt32 } from '../backend/webgpu/codegen.ts';

export type QuantBits = 8 | 4;

/** A quantized weight: packed values, their scales, and the shape they stand for. */
export class QuantizedWeight {
  constructor(
    readonly bits: QuantBits,
    /** Output channels (rows of the float weight). */
    readonly rows: number,
    /** Values per row before padding. */
    readonly cols: number,
    /** Values sharing one scale: the padded row for int8, 32 for int4. */
    readonly groupSize: number,
    /** int32 words [rows, rowBytes / 4]. */
    readonly packed: Tensor,
    /** float32 [rows, groups]. */
    readonly scales: Tensor,
  ) {}

  /** Bytes of one packed row (a multiple of 16). */
  get rowBytes(): number {
    return this.packed.shape[1]! * 4;
  }

  /** Where the packed values live. */
  get device(): Device {
    return this.packed.device;
  }

  /** Bytes the packed values and scales take. */
  get bytes(): number {
    return this.packed.numel() * 4 + this.scales.numel() * 4;
  }

  /** A copy on another device. */
  to(device: Device): QuantizedWeight {
    if (device === this.device) return this;
    return new QuantizedWeight(this.bits, this.rows, this.cols, this.groupSize, this.packed.to(device), this.scales.to(device));
  }

  /** Free the packed values and scales. */
  dispose(): void {
    this.packed.dispose();
    this.scales.dispose();
  }
}

/**
 * Quantize a float weight [rows, cols] (symmetric: int8 in -127..127 with scale max|w|/127 per row;
 * int4 in -7..7 with scale max|w|/7 per group of 32). The result lives on `device` (default: the
 * weight's). The float weight is read on the host.
 * @example const q = quantizeWeight(linear.weight, 8);
 */
export function quantizeWeight(w: Tensor, bits: QuantBits, device: Device = w.device): QuantizedWeight {
  if (w.ndim !== 2) throw new Error(`quantizeWeight: expected a 2-D weight, got ${fmt(w.shape)}`);
  if (bits !== 8 && bits !== 4) throw new Error(`quantizeWeight: bits must be 8 or 4, got ${String(bits)}`);
  const [rows, cols] = w.shape as [number, number];
  if (w.device !== 'cpu') throw new Error('quantizeWeight: quantize from a CPU tensor (read it back first), then place it with `device`');
  const values = getBackend('cpu').readSync!(w);
  const chunk = bits === 8 ? 16 : 32;
  const padded = Math.ceil(cols / chunk) * chunk;
  const groupSize = bits === 8 ? padded : 32;
  const groups = padded / groupSize;
  const limit = bits === 8 ? 127 : 7;
  const rowBytes = bits === 8 ? padded : padded / 2;
  const bytes = new Uint8Array(rows * rowBytes);
  const scales = new Float32Array(rows * groups);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const from = g * groupSize, to = Math.min(cols, from + groupSize);
      let m = 0;
      for (let k = from; k < to; k++) m = Math.max(m, Math.abs(values[r * cols + k]!));
      const scale = m / limit;
      scales[r * groups + g] = scale;
      for (let k = from; k < to; k++) {
        const v = scale > 0 ? Math.max(-limit, Math.min(limit, Math.round(values[r * cols + k]! / scale))) : 0;
        if (bits === 8) bytes[r * rowBytes + k] = v & 0xff;
        else bytes[r * rowBytes + (k >> 1)]! |= (v & 0xf) << ((k & 1) * 4);
      }
    }
  }
  const packed = fromArray(new Int32Array(bytes.buffer), [rows, rowBytes / 4], { dtype: 'int32', device });
  return new QuantizedWeight(bits, rows, cols, groupSize, packed, fromArray(scales, [rows, groups], { dtype: 'float32', device }));
}

/** Integer value k of a packed row (bytes of the row, little-endian). */
function valueAt(row: Uint8Array, k: number, bits: QuantBits): number {
  if (bits === 8) return (row[k]! << 24) >> 24;
  const byte = row[k >> 1]!;
  return (k & 1) === 0 ? ((byte << 28) >> 28) : ((byte << 24) >> 28);
}

interface QAttrs { bits: QuantBits; N: number; K: number; O: number; rowBytes: number; groupSize: number; hasBias: boolean }

const qmatmulKernel: Kernel<QAttrs> = {
  name: 'quantizedMatmul',
  cpu: ([out], [x, q, scales, bias], a) => {
    const rt = wasmKernels();
    const outPtr = heapAddress(out!);
    const ptrs = [x, q, scales, ...(a.hasBias ? [bias] : [])].map((v) => (v!.ptr ?? -1) >= 0 ? v!.ptr! + v!.offset * 4 : -1);
    if (rt !== null && outPtr >= 0 && ptrs.every((p) => p >= 0)) {
      const threads = a.N * a.O * a.K > 1 << 18 ? rt.numThreads : 1;
      const scratch = rt.scratch(a.rowBytes * (a.bits === 8 ? 4 : 8)); // one float32 row per thread
      rt.run('quantizedMatmul', [ptrs[0]!, ptrs[1]!, ptrs[2]!, a.hasBias ? ptrs[3]! : 0, outPtr, a.N, a.K, a.O, a.rowBytes, a.bits, a.groupSize, scratch], threads);
      return;
    }
    const xs = gatherContiguous(x!), words = gatherContiguous(q!) as Int32Array, sc = gatherContiguous(scales!);
    const bs = a.hasBias ? gatherContiguous(bias!) : null;
    const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    const groups = sc.length / a.O;
    for (let o = 0; o < a.O; o++) {
      const row = bytes.subarray(o * a.rowBytes, (o + 1) * a.rowBytes);
      for (let n = 0; n < a.N; n++) {
        let total = 0;
        for (let k = 0; k < a.K; k++) total += valueAt(row, k, a.bits) * sc[o * groups + Math.floor(k / a.groupSize)]! * xs[n * a.K + k]!;
        out![n * a.O + o] = total + (bs ? bs[o]! : 0);
      }
    }
  },
  gpu: (ctx, [x, q, scales, bias], [out], a) => {
    const words = a.rowBytes / 4;
    const groups = (a.bits === 8 ? a.rowBytes : a.rowBytes * 2) / a.groupSize;
    const perWord = a.bits === 8 ? 4 : 8;
    const unpack = a.bits === 8
      ? 'let v = f32((i32(word << (24u - 8u * j))) >> 24u);'
      : 'let v = f32((i32(word << (28u - 4u * j))) >> 28u);';
    const bindings = [{ name: 'x', dtype: 'float32' as const }, { name: 'q', dtype: 'int32' as const }, { name: 's', dtype: 'float32' as const }, ...(a.hasBias ? [{ name: 'b', dtype: 'float32' as const }] : []), { name: 'out', dtype: 'float32' as const, write: true }];
    // one 64-thread workgroup per output row; the threads share the row's words, then add up
    const code = cachedSource(`quantized.linear:${a.bits}:${a.hasBias}`, () => `${header(bindings)}
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= P[0]) { return; }
  let N = P[1]; let K = P[2]; let W = P[3]; let G = P[4]; let GS = P[5];
  for (var n = 0u; n < N; n++) {
    var acc = 0.0;
    for (var w = l; w < W; w += 64u) {
      let word = u32(q[P[7] + o * W + w]);
      let k0 = w * ${perWord}u;
      let scale = s[P[8] + o * G + k0 / GS];
      var part = 0.0;
      for (var j = 0u; j < ${perWord}u; j++) {
        let k = k0 + j;
        if (k < K) { ${unpack} part += v * x[P[6] + n * K + k]; }
      }
      acc += part * scale;
    }
    red[l] = acc;
    workgroupBarrier();
    for (var st = 32u; st > 0u; st >>= 1u) { if (l < st) { red[l] += red[l + st]; } workgroupBarrier(); }
    if (l == 0u) { out[n * P[0] + o] = red[0]${a.hasBias ? ' + b[P[9] + o]' : ''}; }
    workgroupBarrier();
  }
}`);
    ctx.dispatch({
      code,
      bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, ...(a.hasBias ? [{ input: 3 }] : []), { output: 0 }],
      params: [a.O, a.N, a.K, words, groups, a.groupSize, x!.offset, q!.offset, scales!.offset, a.hasBias ? bias!.offset : 0],
      workgroups: { threads: a.O, size: 1 },
    });
  },
};

/**
 * `x · dequant(w)ᵀ (+ bias)` for x [..., cols] and a quantized weight [rows, cols]: what a Linear
 * layer computes, with int8/int4 weights. No gradient flows.
 * @example const y = quantizedMatmul(x, q, linear.bias)
 */
export function quantizedMatmul(x: Tensor, w: QuantizedWeight, bias: Tensor | null = null): Tensor {
  const K = x.shape[x.ndim - 1]!;
  if (K !== w.cols) throw new Error(`quantizedMatmul: input of shape ${fmt(x.shape)} has ${K} features, the weight takes ${w.cols}`);
  if (x.dtype !== 'float32') throw new Error(`quantizedMatmul: input must be float32, got ${x.dtype}`);
  if (x.device !== w.device || (bias !== null && bias.device !== w.device)) throw new Error(`quantizedMatmul: expected all tensors on ${w.device}, got the input on ${x.device}`);
  return noGrad(() => {
    const flat = x.reshape([-1, K]).contiguous();
    const N = flat.shape[0]!;
    const attrs: QAttrs = { bits: w.bits, N, K, O: w.rows, rowBytes: w.rowBytes, groupSize: w.groupSize, hasBias: bias !== null };
    const inputs = bias !== null ? [flat, w.packed, w.scales, bias.contiguous()] : [flat, w.packed, w.scales];
    const [y] = runKernel(qmatmulKernel, inputs, [{ shape: [N, w.rows], dtype: 'float32' }], attrs);
    const shaped = y!.reshape([...x.shape.slice(0, -1), w.rows]);
    if (shaped !== y) y!.dispose();
    if (flat !== x) flat.dispose();
    return shaped;
  });
}

interface QEmbAttrs { bits: QuantBits; cols: number; rows: number; rowBytes: number; groupSize: number; n: number }

const qembeddingKernel: Kernel<QEmbAttrs> = {
  name: 'quantizedEmbedding',
  cpu: ([out], [ids, q, scales], a) => {
    const is = gatherContiguous(ids!), words = gatherContiguous(q!) as Int32Array, sc = gatherContiguous(scales!);
    const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
    const groups = sc.length / a.rows;
    for (let i = 0; i < a.n; i++) {
      const id = is[i]!;
      if (!(id >= 0 && id < a.rows)) throw new Error(`embedding: index ${id} is out of bounds for dim 0 with size ${a.rows}`);
      const row = bytes.subarray(id * a.rowBytes, (id + 1) * a.rowBytes);
      for (let k = 0; k < a.cols; k++) out![i * a.cols + k] = valueAt(row, k, a.bits) * sc[id * groups + Math.floor(k / a.groupSize)]!;
    }
  },
  gpu: (ctx, [ids, q, scales], [out], a) => {
    const slot = ctx.check((f) => `embedding: index ${wordAsInt32(f.a)} is out of bounds for dim 0 with size ${a.rows}`);
    const perWord = a.bits === 8 ? 4 : 8;
    const value = a.bits === 8 ? 'f32(i32(word << (24u - 8u * j)) >> 24u)' : 'f32(i32(word << (28u - 4u * j)) >> 28u)';
    const groups = (a.bits === 8 ? a.rowBytes : a.rowBytes * 2) / a.groupSize;
    const code = cachedSource(`quantized.embedding:${a.bits}`, () => `${header([{ name: 'ids', dtype: 'int32' }, { name: 'q', dtype: 'int32' }, { name: 's', dtype: 'float32' }, { name: 'out', dtype: 'float32', write: true }, errorBinding(9)])}
${entry(`  if (i >= P[0]) { return; }
  let C = P[1];
  let raw = ids[P[4] + i / C];
  if (raw < 0 || raw >= i32(P[2])) { fail(1u, bitcast<u32>(raw), i); }
  let id = u32(clamp(raw, 0, i32(P[2]) - 1));
  let k = i % C;
  let word = u32(q[P[5] + id * P[3] + k / ${perWord}u]);
  let j = k % ${perWord}u;
  out[i] = ${value} * s[P[6] + id * P[7] + k / P[8]];`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, { output: 0 }, { errors: true }], params: [a.n * a.cols, a.cols, a.rows, a.rowBytes / 4, ids!.offset, q!.offset, scales!.offset, groups, a.groupSize, slot], workgroups: { threads: a.n * a.cols, size: 256 } });
  },
};

/**
 * Rows `ids` of a quantized table [rows, cols], dequantized: what an Embedding layer returns.
 * @example const x = quantizedEmbedding(idx, qWte) // (B, T, C)
 */
export function quantizedEmbedding(ids: Tensor, w: QuantizedWeight): Tensor {
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  if (ids.device !== w.device) throw new Error(`embedding: expected all tensors on ${w.device}, got the ids on ${ids.device}`);
  const n = ids.numel();
  const [y] = runKernel(qembeddingKernel, [ids.contiguous(), w.packed, w.scales], [{ shape: [...ids.shape, w.cols], dtype: 'float32' }], { bits: w.bits, cols: w.cols, rows: w.rows, rowBytes: w.rowBytes, groupSize: w.groupSize, n });
  return y!;
}

/** The float weight a quantized one stands for (for tests and measurements). */
export async function dequantize(w: QuantizedWeight): Promise<Tensor> {
  const words = Int32Array.from(await w.packed.data());
  const sc = await w.scales.data();
  const bytes = new Uint8Array(words.buffer);
  const groups = sc.length / w.rows;
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    const row = bytes.subarray(r * w.rowBytes, (r + 1) * w.rowBytes);
    for (let k = 0; k < w.cols; k++) out[r * w.cols + k] = valueAt(row, k, w.bits) * sc[r * groups + Math.floor(k / w.groupSize)]!;
  }
  return fromArray(out, [w.rows, w.cols], { device: w.device });
}
