/// <reference types="@webgpu/types" preserve="true" />
/**
 * Opening WebGPU: `navigator.gpu` in a browser, Dawn (the optional `webgpu` package) in Node, with
 * toggles from options or LLMTS_DAWN_FLAGS; an adapter; and a device that asks for the adapter's
 * own limits (the defaults cap storage bindings at 128 MiB) and for shader-f16 / subgroups /
 * timestamps when offered. Nothing is written to `globalThis`.
 */
import { quiet, setting } from '../../env/env.ts';

import type { WebGPUOptions } from './options.ts';

export interface OpenedDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Mesa's lavapipe and other CPU rasterisers: a real device, but slower than our CPU backend. */
  software: boolean;
  features: { f16: boolean; subgroups: boolean; timestamps: boolean };
}

export function dawnFlagsFromEnv(): string[] {
  return (setting('LLMTS_DAWN_FLAGS') ?? '').split(/[\s;]+/).filter((s) => s.length > 0);
}

let gpuInstance: GPU | null = null;

async function instance(flags: string[]): Promise<GPU> {
  if (gpuInstance !== null) return gpuInstance;
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu !== undefined) return (gpuInstance = browserGpu);
  let webgpu: { create(flags: string[]): GPU };
  try {
    webgpu = (await import('webgpu')) as { create(flags: string[]): GPU };
  } catch (e) {
    const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    throw new Error(missing ? "the optional peer dependency 'webgpu' (Dawn) is not installed: npm install webgpu" : `the webgpu (Dawn) module failed to load: ${(e as Error).message}`);
  }
  gpuInstance = webgpu.create(flags);
  return gpuInstance;
}

/** Open an adapter and device, or return the reason when there is none. */
export async function openDevice(options: WebGPUOptions = {}): Promise<OpenedDevice | { error: string }> {
  let gpu: GPU;
  try {
    gpu = await instance(options.dawnFlags ?? dawnFlagsFromEnv());
  } catch (e) {
    return { error: (e as Error).message };
  }
  // Dawn prints adapter warnings (lavapipe's descriptor limits) straight to stderr: hide them when asked
  const adapter = await (quiet() ? withoutNativeStderr(() => gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }))
    : gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }));
  if (adapter === null) return { error: 'no WebGPU adapter was found (no Vulkan driver? on Debian, scripts/install-lavapipe.sh installs a software one)' };
  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: l.maxBufferSize,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info;
  const adapterInfo = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  const software = adapterInfo.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${adapterInfo.device} ${adapterInfo.description}`);
  return {
    device,
    adapterInfo,
    software,
    features: { f16: device.features.has('shader-f16'), subgroups: device.features.has('subgroups'), timestamps: device.features.has('timestamp-query') },
  };
}

/**
 * Run `fn` with file descriptor 2 pointed at /dev/null, so native code's direct writes to stderr
 * vanish. Node has no dup2, so this closes fd 2 and reopens it (the lowest free descriptor), which
 * is only safe where reopening gives an equivalent target, on Linux: a pipe, a character device
 * (terminal, /dev/null), or a regular file that stdout does not share (reopened for appending).
 * A socket (Node's child_process pipes) cannot be reopened, so there `fn` runs untouched.
 */
async function withoutNativeStderr<T>(fn: () => Promise<T>): Promise<T> {
  const proc = (globalThis as { process?: { platform?: string } }).process;
  if (proc?.platform !== 'linux') return fn();
  const fs = await import('node:fs');
  let saved = -1;
  try {
    const st = fs.fstatSync(2);
    let flags = 'w';
    if (st.isFile()) {
      const out = fs.fstatSync(1);
      if (out.dev === st.dev && out.ino === st.ino) return await fn(); // 2>&1: the shared offset would be lost
      flags = 'a';
    } else if (!st.isFIFO() && !st.isCharacterDevice()) return await fn();
    saved = fs.openSync('/proc/self/fd/2', flags);
  } catch {
    return fn();
  }
  const pointFd2At = (path: string): boolean => {
    fs.closeSync(2);
    const fd = fs.openSync(path, 'a');
    if (fd === 2) return true;
    fs.closeSync(fd); // another thread took fd 2 in the gap: leave it, stderr stays closed
    return false;
  };
  if (!pointFd2At('/dev/null')) {
    fs.closeSync(saved);
    return fn();
  }
  try {
    return await fn();
  } finally {
    pointFd2At(`/proc/self/fd/${saved}`);
    fs.closeSync(saved);
  }
}
