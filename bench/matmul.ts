/**
 * float32 matmul throughput: our CPU and GPU side by side, and PyTorch on the same machine in the
 * same run when `--peer python3` (or another interpreter with torch) is given.
 *
 *   npm run bench -- matmul                              # CPU, plus the GPU when it is a hardware one
 *   npm run bench -- matmul --devices cpu,gpu --sizes 64,256
 *   npm run bench -- matmul --peer /usr/bin/python3 --threads 2
 */
import { Bench } from 'tinybench';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasBackend, manualSeed, randn, type Device } from '@llmts/tensor';
import { getBackend, webgpuBackend } from '@llmts/tensor/internal';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Case { label: string; m: number; k: number; n: number }

function cases(sizes: number[]): Case[] {
  const out: Case[] = sizes.map((n) => ({ label: `${n}x${n}x${n}`, m: n, k: n, n }));
  // transformer-shaped: (B*T, C) x (C, 4C) for GPT-2 small at batch 8, block 256
  out.push({ label: 'mlp 2048x768x3072', m: 2048, k: 768, n: 3072 });
  return out;
}

async function measure(device: Device, c: Case, time: number): Promise<{ ms: number; samples: number }> {
  const a = randn([c.m, c.k], { device });
  const b = randn([c.k, c.n], { device });
  const backend = getBackend(device);
  const bench = new Bench({ time, warmupIterations: 2, iterations: 3 });
  bench.add(c.label, async () => {
    const y = a.matmul(b);
    await backend.sync();
    y.dispose();
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  const latency = result !== undefined && 'latency' in result ? result.latency : undefined;
  a.dispose();
  b.dispose();
  return { ms: latency?.mean ?? NaN, samples: latency?.samplesCount ?? 0 };
}

export async function run(args: string[]) {
  const time = Number(option(args, 'time') ?? 1500);
  const gpu = webgpuBackend();
  const defaultDevices: Device[] = hasBackend('gpu') && gpu && !gpu.software ? ['cpu', 'gpu'] : ['cpu'];
  const devices = (option(args, 'devices')?.split(',') as Device[] | undefined) ?? defaultDevices;
  const given = option(args, 'sizes')?.split(',').map(Number);
  const sizesFor = (d: Device) => given ?? (d === 'gpu' && !gpu?.software ? [64, 128, 256, 512, 1024, 2048, 4096] : [64, 128, 256, 512, 1024]);
  manualSeed(0);
  const rows: Record<string, unknown>[] = [];
  for (const device of devices) {
    for (const c of cases(sizesFor(device))) {
      const flops = 2 * c.m * c.k * c.n;
      if (c.label.startsWith('mlp') && device === 'cpu' && given === undefined) continue;
      const { ms, samples } = await measure(device, c, time);
      rows.push({ impl: `llm.ts ${device}`, shape: c.label, ms: +ms.toFixed(3), 'GFLOP/s': +(flops / (ms / 1000) / 1e9).toFixed(2), samples });
    }
  }
  const peer = option(args, 'peer');
  let peerInfo: unknown = null;
  if (peer !== undefined) {
    const script = fileURLToPath(new URL('./peers/torch_matmul.py', import.meta.url));
    const peerDevice = devices.includes('gpu') ? 'cuda' : 'cpu';
    const peerArgs = [script, '--device', peerDevice, '--sizes', sizesFor(devices.includes('gpu') ? 'gpu' : 'cpu').join(','), '--tf32'];
    const threads = option(args, 'threads');
    if (threads) peerArgs.push('--threads', threads);
    const r = spawnSync(peer, peerArgs, { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
    if (r.status !== 0) throw new Error(`peer failed: ${r.stderr || r.error}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { torch: string; device: string; rows: { shape: string; ms: number; gflops: number; mode: string }[] };
    peerInfo = { torch: out.torch, device: out.device };
    for (const row of out.rows) rows.push({ impl: `torch ${out.torch} ${peerDevice}${row.mode === 'tf32' ? ' (tf32)' : ''}`, shape: row.shape, ms: row.ms, 'GFLOP/s': row.gflops, samples: '' });
  }
  return { rows, meta: { devices, gpu: gpu?.describe() ?? null, peer: peerInfo } };
}
