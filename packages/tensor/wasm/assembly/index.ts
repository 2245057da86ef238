// The CPU backend's WebAssembly kernels (128-bit SIMD). Built by `npm run build:wasm`.
export { sgemm, gemmScratchBytes } from './gemm';
