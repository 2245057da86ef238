/**
 * Generation speed, batch 1, greedy: tokens/s with the KV cache while the context fits the block
 * (the prompt is one token and blockSize − 1 tokens follow), without the cache, and sustained over
 * --tokens tokens (past the block every token needs a full forward over the last blockSize
 * positions, since learned positions shift); kernels, GPU dispatches and uploads per token. The
 * PyTorch peer (bench/peers/torch_gpt_step.py --generate, nanoGPT's loop without a cache) runs on
 * the CPU in the same run when python3 has torch.
 *
 *   npm run bench -- generate                                  # shakespeare-char-cpu, CPU (+ GPU when present)
 *   npm run bench -- generate --preset shakespeare-char-cpu,shakespeare-char --devices cpu,gpu --tokens 500
 *   npm run bench -- generate --checkpoint out/best --peer none
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getNumThreads, hasBackend, manualSeed, setNumThreads, type Device } from '@llmts/tensor';
import { getBackend, initWebGPU, webgpuBackend } from '@llmts/tensor/internal';
import { GPT, generate, getPreset, loadGPT, makeConfig } from '@llmts/gpt';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** One regime of one model on one device. */
export interface GenerateRow {
  impl: string;
  model: string;
  device: string;
  regime: string;
  tokens: number;
  'tok/s': number;
  'ms/token': number;
  'kernels/token': number | string;
  'dispatches/token': number | string;
  'uploads/token': number | string;
}

async function timeGeneration(model: GPT, device: Device, tokens: number, useCache: boolean, reps: number): Promise<{ tps: number; kernels: number; dispatches: number; uploads: number }> {
  const backend = getBackend(device);
  const runs: number[] = [];
  let c = backend.counters();
  for (let r = 0; r < reps; r++) {
    backend.resetCounters();
    const t0 = performance.now();
    const [out] = await generate(model, [[0]], { maxNewTokens: tokens, temperature: 0, useCache });
    runs.push(performance.now() - t0);
    c = backend.counters();
    if (out!.length !== tokens) throw new Error(`generate bench: asked for ${tokens} tokens, got ${out!.length}`);
  }
  runs.sort((a, b) => a - b);
  const ms = runs[Math.floor(runs.length / 2)]!;
  return { tps: (tokens * 1000) / ms, kernels: c.kernels / tokens, dispatches: c.dispatches / tokens, uploads: c.uploads / tokens };
}

interface PeerResult { tokens_per_s: number; ms_per_token: number; torch: string; params: number }

function peer(python: string, preset: string, tokens: number, threads: number): PeerResult | string {
  const script = fileURLToPath(new URL('./peers/torch_gpt_step.py', import.meta.url));
  const r = spawnSync(python, [script, '--preset', preset, '--device', 'cpu', '--threads', String(threads), '--generate', String(tokens)], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
  if (r.error || r.status !== 0) return `peer failed: ${(r.error?.message ?? r.stderr).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
}

const round = (v: number, d = 1) => +v.toFixed(d);

export async function run(args: string[]) {
  const threads = option(args, 'threads');
  if (threads) setNumThreads(Number(threads));
  const askedDevices = option(args, 'devices');
  let devices: Device[] = askedDevices ? (askedDevices.split(',') as Device[]) : ['cpu'];
  if (askedDevices?.includes('gpu') || !askedDevices) {
    try {
      const gpu = await initWebGPU();
      if (!askedDevices && !gpu.software) devices = ['cpu', 'gpu'];
    } catch (e) {
      if (askedDevices?.includes('gpu')) throw e;
    }
  }
  for (const d of devices) if (d !== 'cpu' && d !== 'gpu') throw new Error(`generate: --devices takes cpu and gpu, got '${d}'`);
  if (devices.includes('gpu') && !hasBackend('gpu')) throw new Error('generate: no GPU');
  const sustained = Number(option(args, 'tokens') ?? 500);
  const reps = Number(option(args, "reps") ?? 5);
  const python = option(args, 'peer') ?? 'python3';
  const checkpoint = option(args, 'checkpoint');
  const names = checkpoint ? [checkpoint] : (option(args, 'preset') ?? 'shakespeare-char-cpu').split(',');
  const rows: GenerateRow[] = [];
  for (const name of names) {
    for (const device of devices) {
      manualSeed(0);
      const model = checkpoint
        ? loadGPT(checkpoint, { device }).model
        : new GPT(makeConfig({ ...getPreset(name).model, dropout: 0, vocabSize: name.includes('char') ? 65 : 50257 }), { device });
      model.eval();
      const inContext = model.config.blockSize - 1;
      const label = device === 'gpu' ? `gpu (${webgpuBackend()!.describe()})` : `cpu (${getNumThreads()} threads)`;
      // warm-up: JIT, WebAssembly tiers, GPU pipelines
      for (let w = 0; w < (device === "cpu" ? 10 : 2); w++) await generate(model, [[0]], { maxNewTokens: inContext, temperature: 0 });
      const add = (regime: string, tokens: number, r: { tps: number; kernels: number; dispatches: number; uploads: number }) => rows.push({
        impl: 'llm.ts', model: name, device: label, regime, tokens, 'tok/s': round(r.tps), 'ms/token': round(1000 / r.tps, 3),
        'kernels/token': round(r.kernels), 'dispatches/token': device === 'gpu' ? round(r.dispatches) : '', 'uploads/token': device === 'gpu' ? round(r.uploads, 2) : '',
      });
      add('KV cache, in context', inContext, await timeGeneration(model, device, inContext, true, reps));
      add('no cache, in context', inContext, await timeGeneration(model, device, inContext, false, 1));
      add(`sustained (window of ${model.config.blockSize})`, sustained, await timeGeneration(model, device, sustained, true, 1));
      model.dispose();
    }
    if (!checkpoint && python !== 'none') {
      const blockSize = getPreset(name).model.blockSize ?? 1024;
      for (const [regime, tokens] of [['no cache, in context', blockSize - 1], [`sustained (window of ${blockSize})`, sustained]] as const) {
        const p = peer(python, name, tokens, getNumThreads());
        if (typeof p === 'string') {
          rows.push({ impl: 'torch', model: name, device: 'cpu', regime: `${regime}: ${p}`, tokens, 'tok/s': NaN, 'ms/token': NaN, 'kernels/token': '', 'dispatches/token': '', 'uploads/token': '' });
          break;
        }
        rows.push({ impl: `torch ${p.torch}`, model: name, device: `cpu (${getNumThreads()} threads)`, regime, tokens, 'tok/s': round(p.tokens_per_s), 'ms/token': round(p.ms_per_token, 3), 'kernels/token': '', 'dispatches/token': '', 'uploads/token': '' });
      }
    }
  }
  return { rows: rows as unknown as Record<string, unknown>[], meta: { sustained, reps, devices } };
}
