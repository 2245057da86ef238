import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasBackend } from '@llmts/tensor';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (script: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

describe('process lifecycle', () => {
  it.skipIf(!hasBackend('gpu'))('a script that uses the GPU exits by itself with code 0', () => {
    const r = run('tests/webgpu/fixtures/gpu-script.ts', { LLMTS_DEVICE: '' });
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sum finite');
  });

  it('LLMTS_DEVICE=gpu without an adapter is a clear error, never a silent fallback', () => {
    const r = run('tests/webgpu/fixtures/gpu-script.ts', { LLMTS_DEVICE: 'gpu', LLMTS_WEBGPU: '0' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/LLMTS_DEVICE=gpu, but/);
  });

  it('LLMTS_DEVICE with a bad value names the valid ones', () => {
    const r = run('tests/webgpu/fixtures/gpu-script.ts', { LLMTS_DEVICE: 'tpu' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/LLMTS_DEVICE must be 'cpu' or 'gpu', got 'tpu'/);
  });

  it('says the chosen default device once on stderr', () => {
    const r = run('tests/webgpu/fixtures/gpu-script.ts', { LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '' });
    expect(r.stderr.match(/llm\.ts: default device/g)?.length ?? 0).toBe(1);
  });
});
