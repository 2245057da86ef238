import { isGradEnabled } from '../autograd/mode.ts';
import { isFloat } from '../dtype.ts';
import { broadcastShapes, fmt, viewStrides } from '../shape.ts';
import type { CpuView, Kernel } from '../backend/types.ts';
import type { TypedArray } from '../dtype.ts';
import { heapAddress, wasmKernels } from '../backend/cpu/wasm.ts';
import { gemm } from '../backend/cpu/matmul.ts';
import { RowWalker } from '../backend/cpu/strided.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel, sameDevice } from './apply.ts';
import { geluFused, recordGelu } from './gelu.ts';
import { broadcastView } from './binary.ts';
import { matmulGpu } from '../backend/webgpu/matmul.ts';

export interface MatmulAttrs {
  batch: number[];
  M: number;
  N: number;
  K: number;
}

/** Products bigger than this many FLOPs use every CPU thread. */
const PARALLEL_FLOPS = 2e6;

/** The WebAssembly SIMD GEMM (all operands float32 in the heap); false when it cannot run. */
function matmulWasm(out: TypedArray, a: CpuView, b: CpuView, { batch, M, N, K }: MatmulAttrs): boolean {
  const rt = wasmKernels();
  const outPtr = heapAddress(out);
  if (rt === null || a.dtype !== 'float32' || b.dtype !== 'float32' || outPtr < 0 || (a.ptr ?? -1) < 0 || (b.ptr ?? -1) < 0) return false;
  const r = batch.length;
  const count = batch.reduce((x, y) => x * y, 1);
  const table = rt.heap.alloc(12 * Math.max(count, 1));
  if (table < 0) return false;
  const offsets = new Int32Array(rt.memory.buffer, table, 3 * count);
  const outBatch = batch.map((_, i) => batch.slice(i + 1).reduce((x, y) => x * y, 1) * M * N);
  const it = new RowWalker(batch, [outBatch, a.strides.slice(0, r), b.strides.slice(0, r)], [0, a.offset, b.offset]);
  let k = 0;
  for (let row = 0; row < it.rows; row++, it.advance()) {
    for (let j = 0; j < it.inner; j++) {
      offsets[k++] = it.offsets[1]! + j * it.steps[1]!;
      offsets[k++] = it.offsets[2]! + j * it.steps[2]!;
      offsets[k++] = it.offsets[0]! + j * it.steps[0]!;
    }
  }
  const scratch = rt.scratch(rt.exports.gemmScratchBytes!() as number);
  const threads = 2 * M * N * K * count > PARALLEL_FLOPS ? rt.numThreads : 1;
  rt.run('sgemm', [a.ptr!, b.ptr!, outPtr, table, count, M, N, K, a.strides[r]!, a.strides[r + 1]!, b.strides[r]!, b.strides[r + 1]!, scratch], threads);
  rt.heap.release(table, 12 * Math.max(count, 1));
  return true;
}

/** Batched C = A·B over broadcast batch dims; inputs arrive as [...batch, M, K] and [...batch, K, N] views. */
export const matmulKernel: Kernel<MatmulAttrs> = {
  name: 'matmul',
  cpu: (outs, [a, b], attrs) => {
    const { batch, M, N, K } = attrs;
    const out = outs[0]!;
    if (matmulWasm(out, a!, b!, attrs)) return;
    const r = batch.length;
    const batchStrides = (s: readonly number[]) => s.slice(0, r);
    const outBatch = batch.map((_, i) => batch.slice(i + 1).reduce((x, y) => x * y, 1) * M * N);
    const it = new RowWalker(batch, [outBatch, batchStrides(a!.strides), batchStrides(b!.strides)], [0, a!.offset, b!.offset]);
    const [so, sa, sb] = it.steps as [number, number, number];
    for (let row = 0; row < it.rows; row++, it.advance()) {
      for (let j = 0; j < it.inner; j++) {
        const A = { data: a!.data, offset: it.offsets[1]! + j * sa, rowStride: a!.strides[r]!, colStride: a!.strides[r + 1]! };
        const B = { data: b!.data, offset: it.offsets[2]! + j * sb, rowStride: b!.strides[r]!, colStride: b!.strides[r + 1]! };
        gemm(M, N, K, A, B, out, it.offsets[0]! + j * so, N);
      }
    }
  },
  gpu: (ctx, [a, b], [out], { batch, M, N, K }) => matmulGpu(ctx, a!, b!, out!, batch, M, N, K),
};

/**
 * Matrix product with PyTorch's rules: 1-D operands are promoted and the added dim removed,
 * batch dims broadcast. @example q.matmul(k.transpose(-2, -1))
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  sameDevice('matmul', [a, b]);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new Error(`matmul: both arguments need at least 1 dim, got shapes ${fmt(a.shape)} and ${fmt(b.shape)}`);
  }
  if (a.dtype !== b.dtype || !isFloat(a.dtype)) {
    throw new Error(`matmul: expected floating point tensors of one dtype, got ${a.dtype} and ${b.dtype}`);
  }
  const k1 = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim === 1 ? 0 : b.ndim - 2]!;
  if (k1 !== k2) throw new Error(`matmul: shapes ${fmt(a.shape)} and ${fmt(b.shape)} do not align (${k1} != ${k2})`);
  if (a.ndim === 1 && b.ndim === 1) return matmul2(a.view([1, -1]), b.view([-1, 1])).view([]);
  if (a.ndim === 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.ndim === 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  // [..., M, K] @ [K, N]: one big 2-D product when the batch folds into rows without a copy
  if (b.ndim === 2 && a.ndim > 2) {
    const rows = a.shape.slice(0, -1).reduce((x, y) => x * y, 1);
    if (viewStrides(a.shape, a.strides, [rows, k1]) !== null) {
      return matmul2(a.view([rows, k1]), b).view([...a.shape.slice(0, -1), b.shape[1]!]);
    }
  }
  return matmul2(a, b);
}

/** The primitive: both operands at least 2-D. */
function matmul2(a: Tensor, b: Tensor): Tensor {
  const M = a.shape[a.ndim - 2]!, K = a.shape[a.ndim - 1]!, N = b.shape[b.ndim - 1]!;
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const av = broadcastView(a, [...batch, M, K]);
  const bv = broadcastView(b, [...batch, K, N]);
  const [out] = runKernel(matmulKernel, [av, bv], [{ shape: [...batch, M, N], dtype: a.dtype }], { batch, M, N, K });
  // b stored transposed (a Linear's Wᵀ): its gradient is computed in W's layout, (gᵀa)ᵀ, so the
  // weight's gradient comes out contiguous instead of as a transposed view
  const bTransposed = a.ndim === 2 && b.ndim === 2 && b.strides[0] === 1 && b.shape[0]! > 1 && b.shape[1]! > 1;
  return record(out!, 'matmul', [a, b], (g, needs) => [
    needs[0] ? matmul(g, b.transpose(-2, -1)) : null,
    needs[1] ? (bTransposed ? matmul(g.transpose(-2, -1), a).transpose(-2, -1) : matmul(a.transpose(-2, -1), g)) : null,
  ]);
}

/** x (rows, K) · Wᵀ + bias on the GPU: the 64×64 kernel adds the bias as it stores. */
const linearKernel: Kernel<MatmulAttrs> = {
  name: 'linear',
  cpu: () => { throw new Error('linear: the CPU composes it from matmul and add'); },
  gpu: (ctx, [x, wT, bias], [out], { M, N, K }) => matmulGpu(ctx, x!, wT!, out!, [], M, N, K, { bias: bias! }),
};

/**
 * A Linear's weight and bias gradients in one GPU dispatch: dW = gᵀ · x (the matmul kernel) and
 * db = Σ_rows g, the row sums of gᵀ the kernel accumulates from the tiles it loads anyway.
 */
const linearGradKernel: Kernel<MatmulAttrs> = {
  name: 'linear_grad',
  cpu: () => { throw new Error('linear_grad: the CPU composes it from matmul and sum'); },
  gpu: (ctx, [gT, x], [dw], { M, N, K }) => matmulGpu(ctx, gT!, x!, dw!, [], M, N, K, { rowSums: true }),
};

/** x (rows, K) · Wᵀ (+ bias) with GELU applied as the 64×64 or 128×128 kernel stores; output 1 the pre-activation. */
const linearGeluKernel: Kernel<MatmulAttrs & { tanh: boolean }> = {
  name: 'linear_gelu',
  cpu: () => { throw new Error('linear_gelu: the CPU composes it from linear and gelu'); },
  gpu: (ctx, [x, wT, bias], [out], { M, N, K, tanh }) => matmulGpu(ctx, x!, wT!, out!, [], M, N, K, { ...(bias ? { bias } : {}), gelu: tanh ? 'tanh' : 'exact' }),
};

/** Whether a linear layer can run as one GPU kernel: on the GPU, 2-D weight, one floating dtype, a bias over its rows when given. */
function onGpu(x: Tensor, weight: Tensor, bias: Tensor | null): boolean {
  return x.device === 'gpu' && isFloat(x.dtype) && weight.ndim === 2 && x.ndim >= 1 && x.dtype === weight.dtype
    && (bias === null || (bias.ndim === 1 && bias.dtype === weight.dtype && bias.shape[0] === weight.shape[0]));
}

/**
 * The fused GPU linear: one kernel forward (the bias, and GELU when `gelu` is given, in the
 * epilogue); backward through GELU (one kernel), then the input's matmul and one dispatch for the
 * weight's gradient (in its own (out, in) layout) with the bias's beside it.
 */
function linearGpu(x: Tensor, weight: Tensor, bias: Tensor | null, gelu?: { tanh: boolean }): Tensor {
  const op = gelu ? 'linearGelu' : 'linear';
  sameDevice(op, [x, weight, ...(bias ? [bias] : [])]);
  const [N, K] = weight.shape as [number, number];
  if (x.shape[x.ndim - 1] !== K) throw new Error(`${op}: input of shape ${fmt(x.shape)} does not match a weight of shape ${fmt(weight.shape)}`);
  const rows = x.numel() / K;
  const x2 = viewStrides(x.shape, x.strides, [rows, K]) !== null ? x.view([rows, K]) : x.contiguous().view([rows, K]);
  const wT = weight.transpose(0, 1);
  const attrs = { batch: [], M: rows, N, K };
  const spec = { shape: [rows, N], dtype: x.dtype };
  const operands = [x2, wT, ...(bias ? [bias] : [])];
  const [out, preOut] = gelu ? runKernel(linearGeluKernel, operands, [spec, spec], { ...attrs, tanh: gelu.tanh }) : runKernel(linearKernel, operands, [spec], attrs);
  // the graph is the composition's, linear then GELU (only the forward is one kernel), so backward
  // frees the pre-activation as it passes it, as it would the separate ops' intermediate
  const linearOut = record(preOut ?? out!, 'linear', [x2, weight, ...(bias ? [bias] : [])], (g, needs) => {
    const dx = needs[0] ? matmul(g, weight) : null;
    // fused unless a graph of the backward itself is being built (createGraph: the kernel has no vjp)
    if (bias !== null && needs[1] && needs[2] && !isGradEnabled()) {
      const [dw, db] = runKernel(linearGradKernel, [g.transpose(0, 1), x2], [{ shape: [N, K], dtype: g.dtype }, { shape: [N], dtype: g.dtype }], { batch: [], M: N, N: K, K: rows });
      return [dx, dw, db];
    }
    return [dx, needs[1] ? matmul(g.transpose(0, 1), x2) : null, ...(bias ? [needs[2] ? g.sum(0) : null] : [])];
  });
  if (!gelu) return linearOut.view([...x.shape.slice(0, -1), N]);
  const y = recordGelu(out!, linearOut, gelu.tanh);
  if (!y.requiresGrad) linearOut.dispose();
  return y.view([...x.shape.slice(0, -1), N]);
}

/**
 * PyTorch's F.linear: x · weightᵀ + bias over the last dim of x (weight (out, in), bias (out)). On the
 * GPU one dispatch (the bias added in the matmul's epilogue); backward is the input's matmul and one
 * dispatch for the weight's gradient (in its own (out, in) layout) with the bias's beside it.
 * @example linear(x, this.weight, this.bias)
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  if (bias === null || !onGpu(x, weight, bias)) {
    const y = matmul(x, weight.transpose(0, 1));
    return bias === null ? y : y.add(bias);
  }
  return linearGpu(x, weight, bias);
}

/**
 * gelu(linear(x, weight, bias)), the first half of a transformer's MLP: on the GPU one dispatch
 * (GELU applied as the matmul stores, the pre-activation kept for backward), elsewhere the
 * composition; the same values either way.
 * @example linearGelu(x, fc.weight, fc.bias, { approximate: 'tanh' })
 */
export function linearGelu(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`linearGelu: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  if (!onGpu(x, weight, bias)) return geluFused(linear(x, weight, bias), approximate === 'tanh');
  return linearGpu(x, weight, bias, { tanh: approximate === 'tanh' });
}
