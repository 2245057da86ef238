import { describe } from 'vitest';
import type { Device } from '@llmts/tensor';
import { hasBackend } from '@llmts/tensor';

/** The devices this run can test: the CPU always, the GPU when its backend is initialised. */
export function testDevices(): Device[] {
  return hasBackend('gpu') ? ['cpu', 'gpu'] : ['cpu'];
}

/** One suite per device, so every op is checked on every backend with the same tests. */
export function describeEachDevice(name: string, body: (device: Device) => void): void {
  for (const device of testDevices()) describe(`${name} [${device}]`, () => body(device));
}
