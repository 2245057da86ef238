import type { Backend, Device } from './types.ts';
import { cpuBackend } from './cpu/backend.ts';

const backends: Partial<Record<Device, Backend>> = { cpu: cpuBackend };

export function registerBackend(backend: Backend): void {
  backends[backend.device] = backend;
}

export function getBackend(device: Device): Backend {
  const b = backends[device];
  if (b === undefined) {
    throw new Error(`device '${device}' is not initialised${device === 'gpu' ? ': await initWebGPU() first (or run with LLMTS_DEVICE=cpu)' : ''}`);
  }
  return b;
}

export function hasBackend(device: Device): boolean {
  return backends[device] !== undefined;
}

let defaultDevice: Device = 'cpu';

/** The device creation functions use when none is given. */
export function getDefaultDevice(): Device {
  return defaultDevice;
}

export function setDefaultDevice(device: Device): void {
  getBackend(device);
  defaultDevice = device;
}
