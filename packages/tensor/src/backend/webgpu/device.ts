/// <reference types="@webgpu/types" preserve="true" />
/**
 * Opening WebGPU: `navigator.gpu` in a browser, Dawn (the optional `webgpu` package) in Node (see #host), with
 * toggles from options or LLMTS_DAWN_FLAGS; an adapter; and a device that asks for the adapter's
 * own limits (the defaults cap storage bindings at 128 MiB) and for shader-f16 / subgroups /
 * timestamps when offered. Nothing is written to `globalThis`.
 */
import { host } from '#host';
import { quiet, setting } from '../../env/env.ts';

import type { WebGPUOptions } from './options.ts';

export interface OpenedDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Mesa's lavapipe and other CPU rasterisers: a real device, but slower than our CPU backend. */
  software: boolean;
  /**
   * False for Dawn's null backend (`LLMTS_DAWN_FLAGS=backend=null`): commands are validated and
   * accepted but nothing runs, so the host's cost can be measured apart from any GPU's; values
   * read back are meaningless.
   */
  executes: boolean;
  /** Whether waiting on a promise keeps the host thread polling (Dawn in Node: see pacing.ts). */
  spinsWhileWaiting: boolean;
  features: { f16: boolean; subgroups: boolean; timestamps: boolean };
}

export function dawnFlagsFromEnv(): string[] {
  return (setting('LLMTS_DAWN_FLAGS') ?? '').split(/[\s;]+/).filter((s) => s.length > 0);
}

let gpuInstance: GPU | null = null;

async function instance(flags: string[]): Promise<GPU> {
  gpuInstance ??= await host.gpu(flags);
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
  const adapter = await (quiet() ? host.quietNative(() => gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }))
    : gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' }));
  if (adapter === null) {
    return { error: host.name === 'browser' ? 'the browser offers no WebGPU adapter (WebGPU disabled, or not supported on this GPU)' : 'no WebGPU adapter was found (no Vulkan driver? on Debian, scripts/install-lavapipe.sh installs a software one)' };
  }
  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: l.maxBufferSize,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    // finer offsets pack the params arena tighter and let windows of big buffers be sized freely
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info;
  const adapterInfo = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  const executes = !/^null-backend$/i.test(adapterInfo.device || adapterInfo.description);
  const software = !executes || adapterInfo.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${adapterInfo.device} ${adapterInfo.description} ${adapterInfo.architecture}`);
  return {
    device,
    adapterInfo,
    software,
    executes,
    spinsWhileWaiting: host.name === 'node',
    features: { f16: device.features.has('shader-f16'), subgroups: device.features.has('subgroups'), timestamps: device.features.has('timestamp-query') },
  };
}
