// The CPU backend's WebAssembly kernels (128-bit SIMD). Built by `npm run build:wasm`.
export { sgemm, gemmScratchBytes } from './gemm';
export { softmaxRows, softmaxBackwardRows, layerNormRows, layerNormBackwardRows, geluForward, geluBackward, crossEntropyRows, crossEntropyBackwardRows } from './fused';
export { binaryF32, adamF32 } from './elementwise';
export { sumF32, copyStrided4 } from './reduce';
export { randomFill } from './random';
export { quantizedMatmul } from './quantized';
