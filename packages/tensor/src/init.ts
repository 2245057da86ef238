/**
 * Device selection at start-up. The default device is a hardware GPU when Dawn finds one, else
 * the CPU (a software adapter such as lavapipe stays available as `device: 'gpu'` but is slower
 * than the CPU backend, so it is never the default). `LLMTS_DEVICE=cpu|gpu` forces the default;
 * forcing `gpu` without an adapter is an error. The choice is said once on stderr.
 */
import type { Device } from './backend/types.ts';
import { hasBackend, getBackend, registerBackend, setDefaultDevice } from './backend/registry.ts';
import { openDevice, type WebGPUOptions } from './backend/webgpu/device.ts';
import { WebGPUBackend } from './backend/webgpu/backend.ts';

let gpuBackend: WebGPUBackend | null = null;
let gpuProblem = 'WebGPU was not initialised';
let announced = false;

/**
 * Open the GPU (idempotent) and register it as device 'gpu'. Throws with the reason when no
 * adapter is available.
 * @example await initWebGPU({ dawnFlags: ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'] })
 */
export async function initWebGPU(options: WebGPUOptions = {}): Promise<WebGPUBackend> {
  if (gpuBackend !== null) return gpuBackend;
  const opened = await openDevice(options);
  if ('error' in opened) {
    gpuProblem = opened.error;
    throw new Error(`webgpu: ${opened.error}`);
  }
  gpuBackend = new WebGPUBackend(opened);
  registerBackend(gpuBackend);
  // Dawn's teardown at exit can hang or crash while a device is alive: release it first
  process.once('exit', () => gpuBackend?.destroy());
  return gpuBackend;
}

/** The GPU backend when one is open (memory stats, emptyCache, adapter info). */
export function webgpuBackend(): WebGPUBackend | null {
  return gpuBackend;
}

function say(message: string): void {
  if (announced || process.env.LLMTS_QUIET === '1') return;
  announced = true;
  process.stderr.write(`llm.ts: ${message}\n`);
}

/** Pick the default device (run once when the package loads). */
export async function initDefaultDevice(): Promise<Device> {
  const forced = process.env.LLMTS_DEVICE;
  if (forced !== undefined && forced !== '' && forced !== 'cpu' && forced !== 'gpu') {
    throw new Error(`LLMTS_DEVICE must be 'cpu' or 'gpu', got '${forced}'`);
  }
  if (process.env.LLMTS_WEBGPU === '0') gpuProblem = 'WebGPU is off (LLMTS_WEBGPU=0)';
  else if (!hasBackend('gpu')) {
    try {
      await initWebGPU();
    } catch {
      // reported below
    }
  }
  const gpu = gpuBackend;
  if (forced === 'gpu') {
    if (gpu === null) throw new Error(`LLMTS_DEVICE=gpu, but ${gpuProblem}`);
    setDefaultDevice('gpu');
    say(`default device gpu (${gpu.describe()}), forced by LLMTS_DEVICE`);
    return 'gpu';
  }
  if (forced === 'cpu') {
    setDefaultDevice('cpu');
    say(`default device cpu, forced by LLMTS_DEVICE${gpu ? ` (gpu available: ${gpu.describe()})` : ''}`);
    return 'cpu';
  }
  if (gpu !== null && !gpu.software) {
    setDefaultDevice('gpu');
    say(`default device gpu (${gpu.describe()})`);
    return 'gpu';
  }
  setDefaultDevice('cpu');
  say(gpu !== null
    ? `default device cpu; the only WebGPU adapter is a software one (${gpu.describe()}), usable with device: 'gpu'`
    : `default device cpu (${gpuProblem})`);
  return 'cpu';
}

export { getBackend };
