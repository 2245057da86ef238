/**
 * Fused GELU (exact x·Φ(x) or GPT-2's tanh approximation) and its derivative, one elementwise
 * kernel each way. Tested against the compositions in composite.ts.
 */
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { elementwise, geluTanhInner, geluWgsl } from '../backend/webgpu/codegen.ts';
import { erf } from './special.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel } from './apply.ts';

interface GeluAttrs {
  tanh: boolean;
}

const K0 = Math.sqrt(2 / Math.PI);
const K1 = 0.044715;

export function geluScalar(x: number, tanh: boolean): number {
  return tanh ? 0.5 * x * (1 + Math.tanh(K0 * (x + K1 * x * x * x))) : 0.5 * x * (1 + erf(x * Math.SQRT1_2));
}

export function geluGradScalar(x: number, tanh: boolean): number {
  if (tanh) {
    const t = Math.tanh(K0 * (x + K1 * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K0 * (1 + 3 * K1 * x * x);
  }
  return 0.5 * (1 + erf(x * Math.SQRT1_2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

const geluKernel: Kernel<GeluAttrs> = {
  name: 'gelu',
  cpu: ([y], [x], a) => {
    const n = y!.length;
    const w = wasmOperands([x!], [y!]);
    if (w) return w.rt.run('geluForward', [w.ins[0]!, w.outs[0]!, n, a.tanh ? 1 : 0], threadsFor(w.rt, n));
    const xs = gatherContiguous(x!);
    for (let i = 0; i < n; i++) y![i] = geluScalar(xs[i]!, a.tanh);
  },
  gpu: (ctx, [x], [y], a) => elementwise(ctx, [x!], y!, ([v]) => geluWgsl(v!, a.tanh)),
};

const geluBackwardKernel: Kernel<GeluAttrs> = {
  name: 'geluBackward',
  cpu: ([dx], [x, g], a) => {
    const n = dx!.length;
    const w = wasmOperands([x!, g!], [dx!]);
    if (w) return w.rt.run('geluBackward', [w.ins[0]!, w.ins[1]!, w.outs[0]!, n, a.tanh ? 1 : 0], threadsFor(w.rt, n));
    const xs = gatherContiguous(x!), gs = gatherContiguous(g!);
    for (let i = 0; i < n; i++) dx![i] = gs[i]! * geluGradScalar(xs[i]!, a.tanh);
  },
  gpu: (ctx, [x, g], [dx], a) => elementwise(ctx, [x!, g!], dx!, ([v, gv]) => (a.tanh
    ? `(${gv} * (0.5 * (1.0 + ${geluTanhInner(v!)}) + 0.5 * ${v} * (1.0 - ${geluTanhInner(v!)} * ${geluTanhInner(v!)}) * ${K0} * (1.0 + ${3 * K1} * ${v} * ${v})))`
    : `(${gv} * (0.5 * (1.0 + erf_f32(${v} * 0.7071067811865476)) + ${v} * exp(-0.5 * ${v} * ${v}) * 0.3989422804014327))`)),
};

/** Record `y` = GELU(`x`) on the tape (however `y` was computed): backward is one kernel, g · GELU'(x). */
export function recordGelu(y: Tensor, x: Tensor, tanh: boolean): Tensor {
  return record(y, 'gelu', [x], (g) => [runKernel(geluBackwardKernel, [x, g.contiguous()], [{ shape: x.shape, dtype: x.dtype }], { tanh })[0]!]);
}

/** GELU in one fused kernel (forward and backward). */
export function geluFused(x: Tensor, tanh: boolean): Tensor {
  const xf = isFloat(x.dtype) ? x.contiguous() : x.to('float32');
  const attrs: GeluAttrs = { tanh };
  const [y] = runKernel(geluKernel, [xf], [{ shape: x.shape, dtype: xf.dtype }], attrs);
  return recordGelu(y!, xf, tanh);
}
