/**
 * Fused in-place optimizer updates, the only ops that write into existing tensors. Each is one
 * kernel per parameter (CPU loop or WGSL), following PyTorch's single-tensor formulas exactly so
 * trajectories match.
 */
import { fmt } from '../shape.ts';
import type { Kernel } from '../backend/types.ts';
import { getBackend } from '../backend/registry.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import type { Tensor } from '../tensor.ts';
import { cachedSource, entry, f32bits, header, load, store } from '../backend/webgpu/codegen.ts';
import { ownsWholeStorage, sameDevice } from './apply.ts';
import { noGrad } from '../autograd/mode.ts';

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count after this update (for bias correction). */
  step: number;
  /** AdamW's decoupled decay (true) or Adam's L2 penalty added to the gradient (false). */
  decoupled: boolean;
}

/** What an Adam step computes from its hyper-parameters: [decay, beta1, beta2, eps, stepSize, l2, bc2Sqrt]. */
export function adamScalars(h: AdamHyper): number[] {
  return [h.decoupled ? 1 - h.lr * h.weightDecay : 1, h.beta1, h.beta2, h.eps, h.lr / (1 - h.beta1 ** h.step), h.decoupled ? 0 : h.weightDecay, Math.sqrt(1 - h.beta2 ** h.step)];
}

/** The single-tensor GPU kernel's params (recomputed by a captured graph's replays: `h` follows the optimizer). */
function adamParams(n: number, gradOffset: number, h: AdamHyper): number[] {
  return [n, gradOffset, ...adamScalars(h).map(f32bits)];
}

const adamKernel: Kernel<AdamHyper> = {
  name: 'optim.adam',
  cpu: ([p, m, v], [gView], h) => {
    const [decay, beta1, beta2, eps, stepSize, l2, bc2Sqrt] = adamScalars(h) as [number, number, number, number, number, number, number];
    const w = wasmOperands([gView!], [p!, m!, v!]);
    if (w) {
      w.rt.run('adamF32', [w.outs[0]!, w.ins[0]!, w.outs[1]!, w.outs[2]!, p!.length, decay, beta1, beta2, eps, stepSize, l2, bc2Sqrt], threadsFor(w.rt, p!.length));
      return;
    }
    const g = gatherContiguous(gView!);
    for (let i = 0; i < p!.length; i++) {
      let pi = p![i]! * decay;
      const gi = g[i]! + l2 * p![i]!;
      const mi = m![i]! * beta1 + gi * (1 - beta1);
      const vi = v![i]! * beta2 + gi * gi * (1 - beta2);
      m![i] = mi;
      v![i] = vi;
      pi -= (stepSize * m![i]!) / (Math.sqrt(v![i]!) / bc2Sqrt + eps);
      p![i] = pi;
    }
  },
  gpu: (ctx, [g], specs, a) => {
    const n = specs[0]!.shape[0]!;
    const dt = specs[0]!.dtype;
    const code = cachedSource(`adam:${g!.dtype}:${dt}`, () => `${header([{ name: 'g', dtype: g!.dtype }, { name: 'p', dtype: dt, write: true }, { name: 'm', dtype: 'float32', write: true }, { name: 'v', dtype: 'float32', write: true }])}
${entry(`  if (i >= P[0]) { return; }
  let gi0 = ${load(g!.dtype, 'g[P[1] + i]')};
  let p0 = ${load(dt, 'p[i]')};
  let gi = gi0 + pf(7u) * p0;
  let mi = m[i] * pf(3u) + gi * (1.0 - pf(3u));
  let vi = v[i] * pf(4u) + gi * gi * (1.0 - pf(4u));
  m[i] = mi;
  v[i] = vi;
  p[i] = ${store(dt, 'p0 * pf(2u) - pf(6u) * mi / (sqrt(vi) / pf(8u) + pf(5u))')};`)}`);
    const offset = g!.offset;
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }, { output: 1 }, { output: 2 }], params: adamParams(n, offset, a), workgroups: { threads: n, size: 256 }, refresh: () => adamParams(n, offset, a) });
  },
};

export function checkParam(op: string, p: Tensor, others: Tensor[]): void {
  sameDevice(op, [p, ...others]);
  for (const t of [p, ...others]) {
    if (!ownsWholeStorage(t)) {
      throw new Error(`${op}: parameters and optimizer state must own contiguous memory (got shape ${fmt(t.shape)} strides ${fmt(t.strides)})`);
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${op}: shape ${fmt(t.shape)} does not match the parameter's ${fmt(p.shape)}`);
    }
  }
}

/**
 * One Adam/AdamW step on `param` in place, with state `expAvg`/`expAvgSq` (updated in place).
 * @example adamUpdate_(p, p.grad!, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1, decoupled: true })
 */
export function adamUpdate_(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, h: AdamHyper): void {
  checkParam('adamUpdate_', param, [expAvg, expAvgSq]);
  sameDevice('adamUpdate_', [param, grad]);
  const g = noGrad(() => grad.contiguous());
  getBackend(param.device).execInPlace(adamKernel, [g], [param.storage, expAvg.storage, expAvgSq.storage], h);
  if (g !== grad) g.dispose();
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The momentum buffer is empty: it starts as the gradient itself (as in PyTorch). */
  first: boolean;
}

const sgdKernel: Kernel<SgdHyper> = {
  name: 'optim.sgd',
  cpu: ([p, buf], [gView], a) => {
    const g = gatherContiguous(gView!);
    for (let i = 0; i < p!.length; i++) {
      let d = g[i]! + a.weightDecay * p![i]!;
      if (a.momentum !== 0) {
        const b = a.first ? d : buf![i]! * a.momentum + (1 - a.dampening) * d;
        buf![i] = b;
        d = a.nesterov ? d + a.momentum * buf![i]! : buf![i]!;
      }
      p![i] = p![i]! - a.lr * d;
    }
  },
  gpu: (ctx, [g], specs, a) => {
    const n = specs[0]!.shape[0]!;
    const dt = specs[0]!.dtype;
    const momentum = a.momentum !== 0;
    const bindings = [{ name: 'g', dtype: g!.dtype }, { name: 'p', dtype: dt, write: true }, ...(momentum ? [{ name: 'buf', dtype: 'float32' as const, write: true }] : [])];
    const code = cachedSource(`sgd:${g!.dtype}:${dt}:${momentum}`, () => `${header(bindings)}
${entry(`  if (i >= P[0]) { return; }
  let p0 = ${load(dt, 'p[i]')};
  var d = ${load(g!.dtype, 'g[P[1] + i]')} + pf(3u) * p0;
  ${momentum ? `let b = select(buf[i] * pf(4u) + (1.0 - pf(5u)) * d, d, P[6] == 1u);
  buf[i] = b;
  d = select(b, d + pf(4u) * b, P[7] == 1u);` : ''}
  p[i] = ${store(dt, 'p0 - pf(2u) * d')};`)}`);
    const offset = g!.offset;
    const params = (): number[] => {
      if ((a.momentum !== 0) !== momentum) throw new Error('optim.sgd: momentum was turned on or off after the step was captured; capture it again');
      return [n, offset, f32bits(a.lr), f32bits(a.weightDecay), f32bits(a.momentum), f32bits(a.dampening), a.first ? 1 : 0, a.nesterov ? 1 : 0];
    };
    // `a` follows the optimizer's settings, so a captured graph's replays recompute the params
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }, ...(momentum ? [{ output: 1 }] : [])], params: params(), workgroups: { threads: n, size: 256 }, refresh: params });
  },
};

/**
 * One SGD step on `param` in place (momentum buffer `buf` updated in place when momentum > 0).
 * @example sgdUpdate_(p, p.grad!, buf, { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, first: true })
 */
export function sgdUpdate_(param: Tensor, grad: Tensor, buf: Tensor | null, h: SgdHyper): void {
  if (h.momentum !== 0 && buf === null) throw new Error('sgdUpdate_: momentum needs a buffer');
  checkParam('sgdUpdate_', param, buf ? [buf] : []);
  sameDevice('sgdUpdate_', [param, grad]);
  const g = noGrad(() => grad.contiguous());
  getBackend(param.device).execInPlace(sgdKernel, [g], h.momentum !== 0 ? [param.storage, buf!.storage] : [param.storage], h);
  if (g !== grad) g.dispose();
}
