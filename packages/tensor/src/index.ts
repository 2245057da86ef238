/**
 * @llmts/tensor — tensors with reverse-mode autograd on the CPU (and the GPU through WebGPU).
 * This file is the package's only door.
 */
export { Tensor } from './tensor.ts';
export type { Scalar, TensorLike } from './tensor.ts';
export type { DType, TypedArray } from './dtype.ts';
export { DTYPES, isFloat, promoteTypes } from './dtype.ts';
export type { Device, Backend, Storage, View, Kernel } from './backend/types.ts';
export { getDefaultDevice, setDefaultDevice, hasBackend, registerBackend, getBackend } from './backend/registry.ts';
export type { Shape } from './shape.ts';
export { broadcastShapes, numel } from './shape.ts';

export { manualSeed, getRngState, setRngState, randomInts, randomUniform } from './random.ts';
export { noGrad, enableGrad, isGradEnabled } from './autograd/mode.ts';
export type { BackwardOptions } from './autograd/tape.ts';
export { sumToShape } from './autograd/sum-to-shape.ts';
export { tidy, keep, liveBytes, zeroGrad } from './memory.ts';

export {
  tensor, fromArray, full, zeros, ones, empty, fullLike, zerosLike, onesLike, arange, linspace, logspace, eye,
  tril, triu, rand, randn, randint, randLike, randnLike, toAsync,
} from './ops/create.ts';
export type { TensorOptions, NestedArray } from './ops/create.ts';
export { neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, abs, sign, erf, sin, cos, logicalNot, clamp, cast, unary } from './ops/unary.ts';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, where, binary,
} from './ops/binary.ts';
export { sum, mean, max, min, argmax, argmin, variance } from './ops/reduce.ts';
export { matmul } from './ops/matmul.ts';
export {
  view, reshape, permute, transpose, movedim, expand, contiguous, clone, slice, narrow, select, squeeze, unsqueeze, flatten,
  cat, stack, split, chunk,
} from './ops/movement.ts';
export { gather, scatterAdd, indexSelect, embedding, maskedFill } from './ops/indexing.ts';
export { softmax, logSoftmax, crossEntropy, layerNorm, gelu, dropout } from './ops/composite.ts';
export type { CrossEntropyOptions } from './ops/composite.ts';
export { causalSoftmax } from './ops/softmax.ts';
/** The compositions the fused kernels are tested against (softmax, logSoftmax, layerNorm, gelu, crossEntropy). */
export * as reference from './ops/reference.ts';
export { multinomial, topk } from './ops/sampling.ts';
export { primitives } from './ops/table.ts';
export type { PrimOp, PrimInfo, Family, DifferentiableOp } from './ops/table.ts';

export { gradcheck } from './testing/gradcheck.ts';
export type { GradcheckOptions, GradcheckResult } from './testing/gradcheck.ts';
export { allclose, assertClose, compareArrays } from './testing/allclose.ts';
export type { CloseOptions } from './testing/allclose.ts';

export { initWebGPU, webgpuBackend, initDefaultDevice } from './init.ts';
export type { WebGPUOptions } from './backend/webgpu/device.ts';

// Choose the default device before anything else runs (GPU when a hardware adapter exists).
import { initDefaultDevice } from './init.ts';
await initDefaultDevice();
export { adamUpdate_, sgdUpdate_ } from './ops/optim.ts';
export type { AdamHyper, SgdHyper } from './ops/optim.ts';
export { saveSafetensors, loadSafetensors, readSafetensorsHeader, encodeSafetensors, parseHeader } from './io/safetensors.ts';
export type { SafetensorsHeader, SafetensorsEntry, LoadOptions } from './io/safetensors.ts';
export { writeFileAtomic } from './io/atomic.ts';
export { setNumThreads, getNumThreads, setWasmKernels, wasmVariant } from './backend/cpu/wasm.ts';
