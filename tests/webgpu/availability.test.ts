import { expect, it } from 'vitest';
import { hasBackend } from '@llmts/tensor';
import { webgpuBackend } from '@llmts/tensor/internal';

it('WebGPU adapter is present (required in CI via LLMTS_REQUIRE_WEBGPU=1)', () => {
  if (hasBackend('gpu')) {
    expect(webgpuBackend()!.describe().length).toBeGreaterThan(0);
    return;
  }
  if (process.env.LLMTS_REQUIRE_WEBGPU === '1') {
    throw new Error('LLMTS_REQUIRE_WEBGPU=1 but no WebGPU adapter was found: install a Vulkan driver (scripts/install-lavapipe.sh installs Mesa 25 lavapipe on Debian)');
  }
  console.warn('WebGPU tests skipped: no WebGPU adapter. Run scripts/install-lavapipe.sh (Mesa 25 lavapipe, Vulkan on the CPU) to run them.');
});
