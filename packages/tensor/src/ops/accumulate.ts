/**
 * Gradient accumulation in place: `target += g` when target is a gradient nobody else views. The
 * tape uses it where two uses of a tensor meet (a tied embedding's two gradients are 154 MB each
 * for GPT-2), and `.grad` uses it across backward calls (gradient accumulation), as PyTorch does;
 * otherwise a sum would need a third buffer while both inputs are alive.
 */
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { getBackend } from '../backend/registry.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { cachedSource, entry, header, load, store } from '../backend/webgpu/codegen.ts';
import { shapesEqual } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { ownsWholeStorage } from './apply.ts';

const accumulateKernel: Kernel<null> = {
  name: 'accumulate',
  cpu: ([t], [g]) => {
    const target = t!;
    const w = g!.dtype === 'float32' ? wasmOperands([g!], [target]) : null;
    if (w !== null && target instanceof Float32Array) {
      // binaryF32(add, a = target, b = g, out = target): elementwise, so writing over a is safe
      w.rt.run('binaryF32', [0, w.outs[0]!, 0, 1, w.ins[0]!, 0, 1, w.outs[0]!, 1, target.length], threadsFor(w.rt, target.length));
      return;
    }
    const src = gatherContiguous(g!);
    for (let i = 0; i < target.length; i++) target[i] = target[i]! + src[i]!;
  },
  gpu: (ctx, [g], [spec]) => {
    const n = spec!.shape[0]!;
    if (n === 0) return;
    const dt = spec!.dtype;
    const code = cachedSource(`accumulate:${dt}:${g!.dtype}`, () => `${header([{ name: 'g', dtype: g!.dtype }, { name: 't', dtype: dt, write: true }])}
${entry(`  if (i >= P[0]) { return; }
  t[i] = ${store(dt, `${load(dt, 't[i]')} + ${load(g!.dtype, 'g[P[1] + i]')}`)};`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params: [n, g!.offset], workgroups: { threads: n, size: 256 } });
  },
};

/** Whether `g` can be added into `target` in place: a float tensor alone on its whole, contiguous storage, of g's shape and dtype. */
export function canAccumulateInto(target: Tensor, g: Tensor): boolean {
  return target.storage.refs === 1 && target.storage !== g.storage && ownsWholeStorage(target) && target.dtype === g.dtype && isFloat(target.dtype)
    && target.device === g.device && shapesEqual(target.shape, g.shape) && target.node === null;
}

/** target += g in place (check `canAccumulateInto` first). */
export function accumulate_(target: Tensor, g: Tensor): void {
  const src = g.isContiguous() ? g : g.contiguous();
  getBackend(target.device).execInPlace(accumulateKernel, [src], [target.storage], null);
  if (src !== g) src.dispose();
}
