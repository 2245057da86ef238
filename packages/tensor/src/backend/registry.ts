import type { Backend, Device } from './types.ts';
import { cpuBackend } from './cpu/backend.ts';
import { notice, setting } from '../env/env.ts';

const backends: Partial<Record<Device, Backend>> = { cpu: cpuBackend };

/** Make `backend` the implementation of its device (the GPU backend registers itself when opened). */
export function registerBackend(backend: Backend): void {
  backends[backend.device] = backend;
}

/** The backend of `device`; a clear error when that device has not been opened. */
export function getBackend(device: Device): Backend {
  const b = backends[device];
  if (b === undefined) {
    if (device !== 'cpu' && device !== 'gpu') throw new Error(`unknown device '${String(device)}' (valid: cpu, gpu)`);
    throw new Error(`device '${device}' is not initialised: await init({ device: 'gpu' }) (or init()) before using it, or run on the CPU`);
  }
  return b;
}

/** Whether `device` can be used now ('gpu' only after `init()` opened it). */
export function hasBackend(device: Device): boolean {
  return backends[device] !== undefined;
}

/** The LLMTS_DEVICE setting, checked: 'cpu', 'gpu', or undefined when unset. */
export function forcedDevice(): Device | undefined {
  const forced = setting('LLMTS_DEVICE');
  if (forced !== undefined && forced !== 'cpu' && forced !== 'gpu') {
    throw new Error(`LLMTS_DEVICE must be 'cpu' or 'gpu', got '${forced}'`);
  }
  return forced;
}

/** Whether a GPU could be opened at all: `navigator.gpu` in a page, the `webgpu` package in Node. */
function webgpuReachable(): boolean {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined) return true;
  try {
    import.meta.resolve('webgpu');
    return true;
  } catch {
    return false;
  }
}

let defaultDevice: Device | null = null;
let announced: Device | null = null;

/**
 * The device creation functions use when none is given. Chosen on first use: what `init()`
 * decided when it ran; otherwise LLMTS_DEVICE, else the CPU (a GPU is opened asynchronously, so
 * only `await init()` can pick one). The choice is said once on stderr.
 * @example const x = zeros([2, 3]); x.device === getDefaultDevice()
 */
export function getDefaultDevice(): Device {
  if (defaultDevice !== null) return defaultDevice;
  const forced = forcedDevice();
  if (forced === 'gpu') {
    if (!hasBackend('gpu')) throw new Error("LLMTS_DEVICE=gpu, but the GPU is not open: opening it is asynchronous, so call await init() before the first operation");
    return chooseDefaultDevice('gpu', 'forced by LLMTS_DEVICE');
  }
  if (forced === 'cpu') return chooseDefaultDevice('cpu', 'forced by LLMTS_DEVICE');
  if (hasBackend('gpu')) return chooseDefaultDevice('cpu', 'a GPU is open; pass device: \'gpu\' or call init() to make it the default');
  if (!webgpuReachable()) return chooseDefaultDevice('cpu', "no WebGPU: the optional 'webgpu' package is not installed");
  return chooseDefaultDevice('cpu', 'no GPU was looked for: await init() before the first operation to use one');
}

/** Fix the default device and say so once (`why` explains the choice). */
export function chooseDefaultDevice(device: Device, why: string): Device {
  getBackend(device);
  defaultDevice = device;
  if (announced !== device) notice(`default device ${device} (${why})`);
  announced = device;
  return device;
}

/**
 * Set the device creation functions use when none is given.
 * @example setDefaultDevice('gpu') // after await init({ device: 'gpu' })
 */
export function setDefaultDevice(device: Device): void {
  getBackend(device);
  defaultDevice = device;
}
