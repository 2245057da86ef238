/**
 * Where a CPU training step spends its time: every kernel by name, and every GEMM by shape with its
 * GFLOP/s. `npx tsx scripts/profile-cpu-step.ts [layers,block,batch,embd]` (default SMALL: 4,128,32,128).
 */
import { manualSeed, randint, tidy } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';
import { wasmRuntime } from '../packages/tensor/src/backend/cpu/wasm.ts';
import { AdamW } from '@llmts/nn';
import { GPT } from '@llmts/gpt';
const be = getBackend('cpu');
const stats = new Map<string, { n: number; ms: number }>();
let on = false;
for (const fn of ['exec', 'execInPlace'] as const) {
  const orig = be[fn].bind(be) as (...a: unknown[]) => unknown;
  (be as unknown as Record<string, unknown>)[fn] = (...args: unknown[]) => {
    if (!on) return orig(...args);
    const t0 = performance.now();
    const r = orig(...args);
    const k = (args[0] as { name: string }).name;
    const s = stats.get(k) ?? { n: 0, ms: 0 };
    s.n++; s.ms += performance.now() - t0;
    stats.set(k, s);
    return r;
  };
}
const rt = wasmRuntime();
const gemms = new Map<string, { n: number; ms: number; flops: number }>();
if (rt) {
  const run = rt.run.bind(rt);
  rt.run = (fn: string, args: readonly number[], nt?: number) => {
    if (!on || fn !== 'sgemm') return run(fn, args, nt);
    const [, , , , batches, M, N, K, , aCs, , bCs] = args as number[];
    const key = `b${batches} M${M} N${N} K${K} A${aCs === 1 ? 'n' : 't'} B${bCs === 1 ? 'n' : 't'}`;
    const t0 = performance.now();
    run(fn, args, nt);
    const s = gemms.get(key) ?? { n: 0, ms: 0, flops: 0 };
    s.n++; s.ms += performance.now() - t0; s.flops += 2 * batches! * M! * N! * K!;
    gemms.set(key, s);
  };
}
const [L, T, B, C] = (process.argv[2] ?? '4,128,32,128').split(',').map(Number) as [number, number, number, number];
manualSeed(0);
const model = new GPT({ vocabSize: 65, blockSize: T, nLayer: L, nHead: 4, nEmbd: C, dropout: 0, bias: true, gelu: 'none' });
const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
const x = randint(0, 65, [B, T]), y = randint(0, 65, [B, T]);
const step = () => tidy(() => { const l = model.forward(x, y).loss!; l.backward(); opt.step(); opt.zeroGrad(); return l; }).dispose();
for (let i = 0; i < 3; i++) step();
on = true;
const n = 5;
const t0 = performance.now();
for (let i = 0; i < n; i++) step();
const total = (performance.now() - t0) / n;
let inKernels = 0;
const rows = [...stats.entries()].map(([k, s]) => { inKernels += s.ms / n; return { kernel: k, calls: s.n / n, 'ms/step': +(s.ms / n).toFixed(2) }; }).sort((a, b) => b['ms/step'] - a['ms/step']);
console.table(rows.slice(0, 22));
console.table([...gemms.entries()].map(([key, s]) => ({ gemm: key, calls: s.n / n, 'ms/step': +(s.ms / n).toFixed(2), 'GFLOP/s': +(s.flops / s.ms / 1e6).toFixed(1) })).sort((a, b) => b['ms/step'] - a['ms/step']).slice(0, 16));
console.log(`step ${total.toFixed(1)} ms; in kernels ${inKernels.toFixed(1)} ms; outside kernels (JS op overhead) ${(total - inKernels).toFixed(1)} ms; kernel calls ${rows.reduce((a, r) => a + r.calls, 0)}`);
