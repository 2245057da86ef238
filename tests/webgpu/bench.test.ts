import { describe, expect, it } from 'vitest';
import { hasBackend } from '@llmts/tensor';
import { run } from '../../bench/gpu-evidence.ts';

describe.skipIf(!hasBackend('gpu'))('npm run bench -- gpu-evidence at tiny sizes (what a borrowed GPU runs at full size)', () => {
  it('measures both matmul kernels, trainer steps of both presets and generation, and says why there is no peer', async () => {
    const { meta } = await run(['--tiny', '--peer', 'none']);
    expect(meta.software).toBe(true);
    expect(new Set(meta.matmul.map((r) => r.kernel)).size).toBe(3);
    for (const r of meta.matmul) expect(r.tflops, `${r.size} ${r.kernel}`).toBeGreaterThan(0);
    expect(meta.trainStep.map((s) => s.preset)).toEqual(['shakespeare-char', 'gpt2-124m']);
    for (const s of meta.trainStep) {
      // the replayed step runs the same dispatches, plus the copies of the batch into the graph's inputs
      expect(s['replayed dispatches']).toBe(s.dispatches + 2);
      expect(s['replayed ms/step']).toBeGreaterThan(0);
      expect(s['replayed host µs/dispatch']).toBeGreaterThan(0);
    }
    for (const s of meta.trainStep) {
      expect(s.error, s.preset).toBeUndefined();
      expect(s.dispatches).toBeGreaterThan(20);
      expect(s.submits).toBeGreaterThan(0);
      expect(s['peak MiB']).toBeGreaterThan(s['params+state MiB']);
      expect(s['ms/step']).toBeGreaterThan(0);
    }
    expect(meta.generation.tokensPerSecond).toBeGreaterThan(0);
    expect(meta.generation.dispatchesPerToken).toBeGreaterThan(0);
    expect(meta.peer).toBe('none (not asked)');
  }, 120_000);
});
