/** The public knobs of the CPU backend's thread pool (kept apart from the runtime's own types). */
import { wasmRuntime } from './wasm.ts';

/**
 * Set the number of CPU compute threads (main thread included) for large kernels.
 * @example setNumThreads(2)
 */
export function setNumThreads(n: number): void {
  wasmRuntime()?.setNumThreads(n);
}

/** CPU compute threads in use (main thread included); 1 without WebAssembly. @example getNumThreads() */
export function getNumThreads(): number {
  return wasmRuntime()?.numThreads ?? 1;
}

