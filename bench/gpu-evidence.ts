/**
 * Everything a borrowed GPU should tell us, in one command and one JSON (bench/results/gpu-evidence.json):
 * float32 matmul TFLOP/s of both GPU kernels (the 128×128 large tile, which needs B row-major, and
 * the generic 64×64 one) and of `x @ Wᵀ` (a Linear's layout) at 1024–8192; per trainer step of
 * shakespeare-char and gpt2-124m the ms, dispatches, submits, peak bytes and host µs per dispatch;
 * generation tokens/s with the KV cache; and PyTorch CUDA beside each when python3 has torch with
 * CUDA (fp32 with TF32 off: the same precision). Sized to finish in minutes on a GPU.
 *
 *   npm run bench -- gpu-evidence                   # on a GPU machine
 *   npm run bench -- gpu-evidence --tiny            # lavapipe-sized: what the test runs
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { manualSeed, randn } from '@llmts/tensor';
import { getBackend, initWebGPU, setGpuMatmulKernel } from '@llmts/tensor/internal';
import { GPT, generate, getPreset, makeConfig } from '@llmts/gpt';
import { measurePreset, type StepFigures } from './gpu-step.ts';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

interface MatmulRow { size: number; kernel: string; ms: number; tflops: number }

/** Median ms of `fn` (which encodes GPU work) after a warm-up, each run ended by a sync. */
async function timeGpu(fn: () => { dispose(): void }, runs: number): Promise<number> {
  const backend = getBackend('gpu');
  fn().dispose();
  await backend.sync();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const y = fn();
    await backend.sync();
    times.push(performance.now() - t0);
    y.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function matmuls(sizes: number[], runs: number): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const n of sizes) {
    manualSeed(n);
    const a = randn([n, n], { device: 'gpu' });
    const b = randn([n, n], { device: 'gpu' });
    const cases: [string, () => { dispose(): void }, 'generic' | undefined][] = [
      ['large tile, A·B', () => a.matmul(b), undefined],
      ['generic 64×64, A·B', () => a.matmul(b), 'generic'],
      ['A·Bᵀ (Linear layout)', () => a.matmul(b.T), undefined],
    ];
    for (const [kernel, fn, mode] of cases) {
      setGpuMatmulKernel(mode);
      try {
        const ms = await timeGpu(fn, runs);
        rows.push({ size: n, kernel, ms: +ms.toFixed(3), tflops: +((2 * n ** 3) / (ms * 1e9)).toPrecision(4) });
      } finally {
        setGpuMatmulKernel();
      }
    }
    a.dispose();
    b.dispose();
  }
  return rows;
}

async function generation(preset: string, tiny: boolean): Promise<{ preset: string; tokens: number; tokensPerSecond: number; dispatchesPerToken: number }> {
  manualSeed(0);
  const model = new GPT(makeConfig({ ...getPreset(preset).model, dropout: 0, vocabSize: 65, ...(tiny ? { blockSize: 16, nLayer: 2 } : {}) }), { device: 'gpu' });
  model.eval();
  const tokens = model.config.blockSize - 1;
  await generate(model, [[0]], { maxNewTokens: tokens, temperature: 0 });
  const backend = getBackend('gpu');
  backend.resetCounters();
  const t0 = performance.now();
  await generate(model, [[0]], { maxNewTokens: tokens, temperature: 0 });
  const ms = performance.now() - t0;
  const dispatches = backend.counters().dispatches;
  model.dispose();
  return { preset, tokens, tokensPerSecond: +((tokens * 1000) / ms).toFixed(1), dispatchesPerToken: +(dispatches / tokens).toFixed(1) };
}

/** Run a PyTorch peer script; its last stdout line is JSON. */
function peer(python: string, script: string, args: string[], timeoutMs: number): unknown {
  const path = fileURLToPath(new URL(`./peers/${script}`, import.meta.url));
  const r = spawnSync(python, [path, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Whether `python` imports torch with a CUDA device. */
function hasCudaTorch(python: string): boolean {
  const r = spawnSync(python, ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0;
}

export async function run(args: string[]) {
  const started = performance.now();
  const tiny = args.includes('--tiny');
  const gpu = await initWebGPU();
  const sizes = (option(args, 'sizes') ?? (tiny ? '64,128' : '1024,2048,4096,8192')).split(',').map(Number);
  const python = option(args, 'peer') ?? 'python3';
  const cuda = python !== 'none' && hasCudaTorch(python);
  const matmulRows = await matmuls(sizes, tiny ? 2 : 10);
  const steps: StepFigures[] = [];
  const stepPeers: Record<string, unknown> = {};
  for (const name of ['shakespeare-char', 'gpt2-124m']) {
    const o = tiny ? { steps: 1, warmup: 1, batch: 1, block: 16, nLayer: 2, ...(name === 'gpt2-124m' ? { vocabSize: 256 } : {}) } : { steps: 10, warmup: 3 };
    // op by op, and replayed from a captured graph as llmts train takes its steps on the GPU
    steps.push(await measurePreset(name, 'gpu', o));
    if (cuda) stepPeers[name] = peer(python, 'torch_gpt_step.py', ['--preset', name, '--device', 'cuda', '--mode', 'fp32', '--steps', '10'], 300_000);
  }
  const gen = await generation('shakespeare-char', tiny);
  const genPeer = cuda ? peer(python, 'torch_gpt_step.py', ['--preset', 'shakespeare-char', '--device', 'cuda', '--generate', String(gen.tokens)], 120_000) : null;
  const matmulPeer = cuda ? peer(python, 'torch_matmul.py', ['--device', 'cuda', '--sizes', sizes.join(',')], 300_000) : null;
  const result = {
    adapter: gpu.describe(),
    software: gpu.software,
    tiny,
    seconds: +((performance.now() - started) / 1000).toFixed(1),
    matmul: matmulRows,
    trainStep: steps,
    generation: gen,
    peer: cuda ? { matmul: matmulPeer, trainStep: stepPeers, generation: genPeer } : `none (${python === 'none' ? 'not asked' : `${python} has no torch with CUDA`})`,
  };
  const rows: Record<string, unknown>[] = [
    ...matmulRows.map((r) => ({ what: `matmul ${r.size}³ ${r.kernel}`, value: r.tflops, unit: 'TFLOP/s' })),
    ...steps.map((s) => ({ what: `train step ${s.preset} (${s.shape})`, value: s['ms/step'], unit: `ms/step, ${s.dispatches} dispatches${s.error ? `, error: ${s.error}` : ''}` })),
    ...steps.map((s) => ({ what: `train step ${s.preset} (${s.shape}), replayed`, value: s['replayed ms/step'] ?? NaN, unit: `ms/step, ${s['replayed host µs/dispatch'] ?? NaN} host µs/dispatch` })),
    { what: `generate ${gen.preset} (${gen.tokens} tokens, KV cache)`, value: gen.tokensPerSecond, unit: `tok/s, ${gen.dispatchesPerToken} dispatches/token` },
  ];
  return { rows, meta: result };
}
