import type { TypedArray } from '../../dtype.ts';
import type { CpuView } from '../types.ts';
import { heapAddress, wasmKernels, type WasmRuntime } from './wasm.ts';

/** Work above this many elements is split across the CPU threads. */
export const PARALLEL_ELEMENTS = 1 << 15;

/**
 * The WebAssembly runtime and heap addresses when every operand is float32 in the heap and
 * contiguous (views must start at their own data), else null: the caller runs its TypeScript loop.
 */
export function wasmOperands(inputs: readonly (CpuView | null)[], outputs: readonly TypedArray[]): { rt: WasmRuntime; ins: number[]; outs: number[] } | null {
  const rt = wasmKernels();
  if (rt === null) return null;
  const ins: number[] = [];
  for (const v of inputs) {
    if (v === null) { ins.push(0); continue; }
    if (v.dtype !== 'float32' && v.dtype !== 'int32') return null;
    const p = v.ptr ?? -1;
    if (p < 0) return null;
    ins.push(p + v.offset * 4);
  }
  const outs: number[] = [];
  for (const o of outputs) {
    if (!(o instanceof Float32Array) && !(o instanceof Int32Array)) return null;
    const p = heapAddress(o);
    if (p < 0) return null;
    outs.push(p);
  }
  return { rt, ins, outs };
}

export function threadsFor(rt: WasmRuntime, elements: number): number {
  return elements >= PARALLEL_ELEMENTS ? rt.numThreads : 1;
}
