/**
 * The one GPU backend of the process: opened on demand (`initWebGPU`), registered as device 'gpu',
 * and released at exit. Its WebGPU types stay out of the public typings.
 */
import { registerBackend } from '../registry.ts';
import type { WebGPUOptions } from './options.ts';
import type { WebGPUBackend } from './backend.ts';

let gpuBackend: WebGPUBackend | null = null;
let opening: Promise<WebGPUBackend> | null = null;
let problem = 'WebGPU was not initialised';

/** Why no GPU is open (the last failure, or that none was tried). */
export function gpuProblem(): string {
  return problem;
}

export function setGpuProblem(reason: string): void {
  problem = reason;
}

/**
 * Open the GPU (once; later calls return the same backend) and register it as device 'gpu',
 * without changing the default device. Throws with the reason when no adapter is available.
 */
export function initWebGPU(options: WebGPUOptions = {}): Promise<WebGPUBackend> {
  if (gpuBackend !== null) return Promise.resolve(gpuBackend);
  opening ??= openGpu(options).finally(() => { opening = null; });
  return opening;
}

async function openGpu(options: WebGPUOptions): Promise<WebGPUBackend> {
  const [{ openDevice }, { WebGPUBackend }] = await Promise.all([import('./device.ts'), import('./backend.ts')]);
  const opened = await openDevice(options);
  if ('error' in opened) {
    problem = opened.error;
    throw new Error(`webgpu: ${opened.error}`);
  }
  const backend = new WebGPUBackend(opened);
  gpuBackend = backend;
  registerBackend(backend);
  // Dawn's teardown at exit can hang or crash while a device is alive: release it first
  const proc = (globalThis as { process?: { once(event: 'exit', fn: () => void): void } }).process;
  proc?.once('exit', () => backend.destroy());
  return backend;
}

/** The GPU backend when one is open (memory stats, emptyCache, adapter info). */
export function webgpuBackend(): WebGPUBackend | null {
  return gpuBackend;
}

