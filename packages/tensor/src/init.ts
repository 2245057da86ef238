/**
 * Opening devices. Importing the package does nothing; `await init()` (or the first operation,
 * which can only pick the CPU) applies the default device rules: a hardware GPU when Dawn finds
 * one, else the CPU (a software adapter such as lavapipe stays available as `device: 'gpu'` but is
 * slower than the CPU backend, so it is never the default). `LLMTS_DEVICE=cpu|gpu` forces the
 * default; forcing `gpu` without an adapter is an error. The choice is said once on stderr.
 * In a browser page, init also fetches the WebAssembly kernels and starts the compute threads.
 */
import type { Device } from './backend/types.ts';
import { chooseDefaultDevice, forcedDevice, hasBackend } from './backend/registry.ts';
import type { WebGPUOptions } from './backend/webgpu/options.ts';
import { gpuProblem, initWebGPU, setGpuProblem, webgpuBackend } from './backend/webgpu/open.ts';
import { setting } from './env/env.ts';
import { prepareWasm, wasmRuntime } from './backend/cpu/wasm.ts';

/** What `init()` found and chose. */
export interface InitResult {
  /** The default device from now on. */
  device: Device;
  /** The GPU when one is open: its adapter, whether it is a software rasteriser, its features. */
  gpu: GpuInfo | null;
  /** Why no GPU is open, when none is. */
  gpuProblem?: string;
  /** The CPU backend: 'simd+fma' or 'simd' WebAssembly kernels on `threads` threads, or 'typescript'. */
  cpu: { kernels: 'simd+fma' | 'simd' | 'typescript'; threads: number; problem?: string };
}

/** A WebGPU adapter, as `init()` reports it. */
export interface GpuInfo {
  description: string;
  vendor: string;
  architecture: string;
  /** A CPU rasteriser (lavapipe, SwiftShader): usable, but never the default device. */
  software: boolean;
  f16: boolean;
  subgroups: boolean;
}

/** Options of `init()`. */
export interface InitOptions extends WebGPUOptions {
  /**
   * 'auto' (the default, or LLMTS_DEVICE when set): look for a GPU and make a hardware one the
   * default; 'gpu': open the GPU and make it the default (an error when there is none); 'cpu': use
   * the CPU and do not open Dawn.
   */
  device?: Device | 'auto';
  /**
   * Where the WebAssembly kernels (kernels.wasm, kernels-fma.wasm, worker-browser.mjs) are served,
   * in a browser page (default: the package's wasm/ folder beside dist/). Node reads them itself.
   */
  wasmBase?: string | URL;
}

function gpuInfo(b: NonNullable<ReturnType<typeof webgpuBackend>>): GpuInfo {
  return {
    description: b.describe(), vendor: b.info.vendor, architecture: b.info.architecture, software: b.software, f16: b.caps.f16, subgroups: b.caps.subgroups,
  };
}

/**
 * Choose the default device, opening the GPU when it may be used. Optional: without it, the first
 * operation uses the CPU (or LLMTS_DEVICE=cpu). Call it before the first operation to let a GPU
 * become the default.
 * @example
 * const { device, gpu } = await init();            // a hardware GPU when there is one, else the CPU
 * await init({ device: 'gpu' });                   // the GPU or an error saying why not
 */
export async function init(options: InitOptions = {}): Promise<InitResult> {
  const asked = options.device ?? 'auto';
  if (asked !== 'auto' && asked !== 'cpu' && asked !== 'gpu') throw new Error(`init: device must be 'auto', 'cpu' or 'gpu', got '${String(asked)}'`);
  const forced = forcedDevice();
  const want = asked === 'auto' ? forced ?? 'auto' : asked;
  const cpuProblem = await prepareWasm(options.wasmBase);
  const rt = wasmRuntime();
  const cpu: InitResult['cpu'] = { kernels: rt === null ? 'typescript' : rt.variant, threads: rt?.numThreads ?? 1, ...(cpuProblem === null ? {} : { problem: cpuProblem }) };
  const result = (device: Device): InitResult => {
    const gpu = webgpuBackend();
    return { device, gpu: gpu && gpuInfo(gpu), ...(gpu ? {} : { gpuProblem: gpuProblem() }), cpu };
  };
  if (want === 'cpu' && asked === 'cpu') return result(chooseDefaultDevice('cpu', 'asked by init'));
  if (setting('LLMTS_WEBGPU') === '0') setGpuProblem('WebGPU is off (LLMTS_WEBGPU=0)');
  else if (!hasBackend('gpu')) {
    try {
      await initWebGPU(options);
    } catch {
      // the reason is in gpuProblem
    }
  }
  const gpu = webgpuBackend();
  const by = asked === 'gpu' ? 'asked by init' : 'forced by LLMTS_DEVICE';
  if (want === 'gpu') {
    if (gpu === null) throw new Error(`${asked === 'gpu' ? "init({ device: 'gpu' })" : 'LLMTS_DEVICE=gpu'}, but ${gpuProblem()}`);
    return result(chooseDefaultDevice('gpu', `${gpu.describe()}, ${by}`));
  }
  if (want === 'cpu') return result(chooseDefaultDevice('cpu', `${by}${gpu ? `; gpu available: ${gpu.describe()}` : ''}`));
  if (gpu !== null && !gpu.software) return result(chooseDefaultDevice('gpu', gpu.describe()));
  return result(chooseDefaultDevice('cpu', gpu !== null
    ? `the only WebGPU adapter is a software one (${gpu.describe()}), usable with device: 'gpu'`
    : gpuProblem()));
}
