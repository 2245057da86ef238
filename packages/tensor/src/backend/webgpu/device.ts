/**
 * Opening Dawn: the instance (with toggles from options or LLMTS_DAWN_FLAGS), an adapter, and a
 * device that asks for the adapter's own limits (the defaults cap storage bindings at 128 MiB,
 * which is why large matmuls failed silently) and for shader-f16 / subgroups when offered.
 */
export interface WebGPUOptions {
  /**
   * Dawn instance toggles, e.g. `enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia`
   * (which unhides shader-f16 on NVIDIA). Defaults to LLMTS_DAWN_FLAGS split on whitespace or ';'.
   */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
}

export interface OpenedDevice {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** Mesa's lavapipe and other CPU rasterisers: a real device, but slower than our CPU backend. */
  software: boolean;
  features: { f16: boolean; subgroups: boolean; timestamps: boolean };
}

export function dawnFlagsFromEnv(): string[] {
  const raw = process.env.LLMTS_DAWN_FLAGS ?? '';
  return raw.split(/[\s;]+/).filter((s) => s.length > 0);
}

let gpuInstance: GPU | null = null;

async function instance(flags: string[]): Promise<GPU> {
  if (gpuInstance !== null) return gpuInstance;
  const webgpu = await import('webgpu');
  Object.assign(globalThis, webgpu.globals);
  gpuInstance = webgpu.create(flags);
  return gpuInstance;
}

/** Open an adapter and device, or return null with the reason when there is none. */
export async function openDevice(options: WebGPUOptions = {}): Promise<OpenedDevice | { error: string }> {
  let gpu: GPU;
  try {
    gpu = await instance(options.dawnFlags ?? dawnFlagsFromEnv());
  } catch (e) {
    return { error: `the webgpu (Dawn) module failed to load: ${(e as Error).message}` };
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
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
