/**
 * float32 matmul throughput, CPU and GPU side by side (GPU rows when an adapter is present).
 * Options: --sizes 64,128,… (default 64…1024 on the CPU, up to 4096 on the GPU), --time ms per case.
 */
import { Bench } from 'tinybench';
import { getBackend, hasBackend, manualSeed, randn, type Device } from '@llmts/tensor';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: string[]) {
  const time = Number(option(args, 'time') ?? 1500);
  const devices: Device[] = hasBackend('gpu') ? ['cpu', 'gpu'] : ['cpu'];
  const cpuSizes = (option(args, 'sizes') ?? '64,128,256,512,1024').split(',').map(Number);
  const gpuSizes = (option(args, 'sizes') ?? '64,128,256,512,1024,2048,4096').split(',').map(Number);
  const cases: { label: string; batch: number; m: number; k: number; n: number }[] = [];
  for (const n of new Set([...cpuSizes, ...gpuSizes])) cases.push({ label: `${n}x${n}x${n}`, batch: 1, m: n, k: n, n });
  // a transformer-shaped product: (B*T, C) x (C, 4C) for GPT-2 small, block 256, batch 8
  cases.push({ label: 'mlp 2048x768x3072', batch: 1, m: 2048, k: 768, n: 3072 });
  manualSeed(0);
  const rows: Record<string, unknown>[] = [];
  for (const device of devices) {
    for (const c of cases) {
      const square = c.m === c.k && c.k === c.n;
      if (square && !(device === 'cpu' ? cpuSizes : gpuSizes).includes(c.m)) continue;
      if (!square && device === 'cpu' && option(args, 'sizes') === undefined && c.m * c.k * c.n > 2e9) continue;
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
      const ms = latency?.mean ?? NaN;
      const flops = 2 * c.m * c.k * c.n;
      rows.push({ device, shape: c.label, 'ms (mean)': +ms.toFixed(3), 'GFLOP/s': +(flops / (ms / 1000) / 1e9).toFixed(2), samples: latency?.samplesCount });
      a.dispose();
      b.dispose();
    }
  }
  return { rows, meta: { devices } };
}
