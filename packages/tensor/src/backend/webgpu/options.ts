/** How to open the GPU (no WebGPU types here, so the public typings need none). */
export interface WebGPUOptions {
  /**
   * Dawn instance toggles, e.g. `enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia`
   * (which unhides shader-f16 on NVIDIA). Defaults to LLMTS_DAWN_FLAGS split on whitespace or ';'.
   */
  dawnFlags?: string[];
  /** Which adapter to ask for when there are several (default 'high-performance'). */
  powerPreference?: 'low-power' | 'high-performance';
}
