/**
 * @llmts/tensor — tensors with reverse-mode autograd on the CPU (WebAssembly SIMD on all cores)
 * and the GPU (WebGPU). This file is the package's public door; importing it has no side effects
 * (no device is opened, nothing is printed) until the first operation or `await init()`.
 * Internals the other @llmts packages build on live in `@llmts/tensor/internal`.
 */
export { Tensor } from './tensor.ts';
export type { Scalar, TensorLike, ValuesAndIndices } from './tensor.ts';
export type { DType, TypedArray } from './dtype.ts';
export { DTYPES, isFloat, promoteTypes } from './dtype.ts';
export type { Device, MemoryStats } from './backend/types.ts';
export { getDefaultDevice, setDefaultDevice, hasBackend } from './backend/registry.ts';
export { init } from './init.ts';
export type { InitOptions, InitResult, GpuInfo } from './init.ts';
export type { WebGPUOptions } from './backend/webgpu/options.ts';
export type { Shape } from './shape.ts';
export { broadcastShapes } from './shape.ts';

export { manualSeed, getRngState, setRngState } from './random.ts';
export { noGrad, enableGrad, isGradEnabled } from './autograd/mode.ts';
export type { BackwardOptions } from './autograd/tape.ts';
export { tidy, keep, liveBytes, memoryStats, resetPeakMemory, zeroGrad } from './memory.ts';
export { captureGraph, onReplay } from './graph.ts';
export type { CapturedGraph } from './graph.ts';
export { isCapturing } from './backend/capture.ts';

export {
  tensor, full, zeros, ones, empty, fullLike, zerosLike, onesLike, arange, linspace, logspace, eye,
  tril, triu, rand, randn, randint, randLike, randnLike,
} from './ops/create.ts';
export type { TensorOptions, NestedArray, ShapeArgs } from './ops/create.ts';
export { neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, abs, sign, erf, sin, cos, logicalNot, clamp, cast } from './ops/unary.ts';
export { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, where } from './ops/binary.ts';
export { sum, mean, max, min, amax, amin, argmax, argmin, variance } from './ops/reduce.ts';
export { matmul, linear, linearGelu } from './ops/matmul.ts';
export {
  view, reshape, permute, transpose, movedim, expand, contiguous, clone, slice, narrow, select, squeeze, unsqueeze, flatten,
  cat, stack, split, chunk,
} from './ops/movement.ts';
export { gather, scatterAdd, indexSelect, embedding, maskedFill } from './ops/indexing.ts';
export { softmax, logSoftmax, crossEntropy, layerNorm, gelu, dropout } from './ops/composite.ts';
export type { CrossEntropyOptions } from './ops/composite.ts';
export { causalSoftmax } from './ops/softmax.ts';
export { scaledDotProductAttention, selfAttention } from './ops/attention.ts';
export { dropoutAdd } from './ops/dropout.ts';
export type { AttentionOptions } from './ops/attention.ts';
export { multinomial, topk } from './ops/sampling.ts';
export { QuantizedWeight, quantizeWeight, quantizedMatmul, quantizedEmbedding, dequantize } from './ops/quantized.ts';
export type { QuantBits } from './ops/quantized.ts';

export { gradcheck } from './testing/gradcheck.ts';
export type { GradcheckOptions, GradcheckResult } from './testing/gradcheck.ts';
export { allclose } from './testing/allclose.ts';
export type { CloseOptions } from './testing/allclose.ts';

export { saveSafetensors, loadSafetensors, loadSafetensorsFromBytes, safetensorsBytes, readSafetensorsHeader, SafetensorsReader } from './io/safetensors.ts';
export type { SafetensorsHeader, SafetensorsEntry, LoadOptions, HostTensor } from './io/safetensors.ts';
export { setNumThreads, getNumThreads } from './backend/cpu/threads.ts';
