/**
 * @llmts/tensor/internal — the pieces the other @llmts packages and the test suites build on:
 * backends and kernels, the op table and reference compositions, optimizer kernels, safetensors
 * and atomic-write helpers, host-side random draws. Not a stable API: it changes with the packages.
 */
export type { Backend, Storage, View, Kernel, WorkCounters } from './backend/types.ts';
export { registerBackend, getBackend } from './backend/registry.ts';
export { initWebGPU, webgpuBackend } from './backend/webgpu/open.ts';
export { matmulTile, setGpuMatmulKernel } from './backend/webgpu/matmul.ts';
export { numel } from './shape.ts';
export { randomInts, randomUniform } from './random.ts';
export { sumToShape } from './autograd/sum-to-shape.ts';
export { fromArray, toAsync } from './ops/create.ts';
export { unary } from './ops/unary.ts';
export { binary } from './ops/binary.ts';
/** The compositions the fused kernels are tested against (softmax, logSoftmax, layerNorm, gelu, crossEntropy). */
export * as reference from './ops/reference.ts';
export { primitives } from './ops/table.ts';
export type { PrimOp, PrimInfo, Family, DifferentiableOp } from './ops/table.ts';
export { assertClose, compareArrays } from './testing/allclose.ts';
export { adamUpdate_, sgdUpdate_ } from './ops/optim.ts';
export { adamUpdateMany_, clipGradNorm_ } from './ops/multi-tensor.ts';
export { ownsWholeStorage } from './ops/apply.ts';
export type { AdamItem } from './ops/multi-tensor.ts';
export type { AdamHyper, SgdHyper } from './ops/optim.ts';
export { encodeSafetensors, parseHeader } from './io/safetensors.ts';
export { writeFileAtomic, processAlive } from './io/atomic.ts';
export { setWasmKernels, wasmVariant } from './backend/cpu/wasm.ts';
export { noticeOnce, setting } from './env/env.ts';
export { collectGarbage, setGarbageBackstop } from './backend/collector.ts';
export { storageBytes } from './memory.ts';
export { windowedSource } from './backend/webgpu/windows.ts';
export { GpuPacing } from './backend/webgpu/pacing.ts';
