/**
 * The mean of per-row losses over the rows whose target is not `ignoreIndex` — crossEntropy's
 * 'mean' reduction — in one kernel: the sum and the count in one pass (before: a sum, a
 * comparison, a second sum, a cast and a division). NaN when every target is ignored, as PyTorch.
 */
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { cachedSource, header, load, store } from '../backend/webgpu/codegen.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { disposeIfUnrecorded, runKernel, sameDevice } from './apply.ts';

const maskedMeanKernel: Kernel<{ ignoreIndex: number }> = {
  name: 'maskedMean',
  cpu: ([mean, count], [losses, targets], { ignoreIndex }) => {
    const l = gatherContiguous(losses!), t = gatherContiguous(targets!);
    let sum = 0, n = 0;
    for (let i = 0; i < l.length; i++) {
      if (t[i] === ignoreIndex) continue;
      sum += Number(l[i]);
      n++;
    }
    mean![0] = sum / n;
    count![0] = n;
  },
  gpu: (ctx, [losses, targets], [mean, count], { ignoreIndex }) => {
    const code = cachedSource(`maskedMean:${losses!.dtype}:${mean!.dtype}`, () => `${header([{ name: 'l', dtype: losses!.dtype }, { name: 't', dtype: 'int32' }, { name: 'mean', dtype: mean!.dtype, write: true }, { name: 'count', dtype: 'float32', write: true }])}
var<workgroup> sums: array<f32, 256>;
var<workgroup> counts: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) k: u32) {
  var s = 0.0;
  var c = 0.0;
  for (var i = k; i < P[0]; i += 256u) {
    if (t[P[2] + i] != bitcast<i32>(P[3])) { s += ${load(losses!.dtype, 'l[P[1] + i]')}; c += 1.0; }
  }
  sums[k] = s;
  counts[k] = c;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (k < h) { sums[k] += sums[k + h]; counts[k] += counts[k + h]; }
    workgroupBarrier();
  }
  // every target ignored: NaN, as PyTorch (WGSL leaves 0 / 0 to the implementation)
  if (k == 0u) { mean[0] = ${store(mean!.dtype, 'select(sums[0] / counts[0], from_bits(0x7fc00000u), counts[0] == 0.0)')}; count[0] = counts[0]; }
}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }, { output: 1 }], params: [losses!.shape[0]!, losses!.offset, targets!.offset, ignoreIndex >>> 0], workgroups: [1] });
  },
};

/** Mean of `losses` (N) over the rows whose `targets` (N, int32) are not ignoreIndex; differentiable in losses. */
export function maskedMean(losses: Tensor, targets: Tensor, ignoreIndex: number): Tensor {
  sameDevice('maskedMean', [losses, targets]);
  const [mean, count] = runKernel(maskedMeanKernel, [losses, targets], [{ shape: [], dtype: losses.dtype }, { shape: [], dtype: 'float32' }], { ignoreIndex });
  const out = record(mean!, 'mean', [losses], (g) => [g.div(count!.to(g.dtype)).expand(...losses.shape)]);
  disposeIfUnrecorded(out, [count!]);
  return out;
}
