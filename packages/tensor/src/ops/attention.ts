/**
 * Scaled dot-product attention as one differentiable op (PyTorch's
 * `F.scaled_dot_product_attention`): softmax(q·kᵀ·scale, causally masked) with dropout, times v.
 * Nothing of size Tq × Tk is kept for backward.
 *
 * GPU: fused kernels (backend/webgpu/attention.ts): one dispatch forward, two backward, the
 * weights recomputed from the saved per-row log-sum-exp. CPU: the weights are computed with the
 * WebAssembly matmul and softmax kernels, used, and freed; backward recomputes them. Both apply
 * the same dropout draw as `dropout` on the (B, H, Tq, Tk) weights.
 */
import { isFloat, type DType } from '../dtype.ts';
import type { Kernel, View } from '../backend/types.ts';
import { fmt } from '../shape.ts';
import { noGrad } from '../autograd/mode.ts';
import { tidy } from '../memory.ts';
import { record } from '../autograd/tape.ts';
import { attentionBackward, attentionForward, type AttentionShape, type GradientLayout } from '../backend/webgpu/attention.ts';
import { nextDrawKey } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel, sameDevice } from './apply.ts';
import { applyDropoutDraw } from './dropout.ts';
import { softmaxLast } from './softmax.ts';
import { cat } from './movement.ts';

/** Options of `scaledDotProductAttention`. */
export interface AttentionOptions {
  /** Query i sees keys j <= i + (Tk - Tq): the queries are the last Tq positions (default true). */
  causal?: boolean;
  /** Multiplies q·k (default 1/√D). */
  scale?: number;
  /** Dropout probability on the attention weights (default 0; pass 0 outside training). */
  dropout?: number;
}

interface Attrs {
  shape: AttentionShape;
  dtype: DType;
  /** Backward only: where the gradients go. */
  layout?: GradientLayout;
}

const forwardKernel: Kernel<Attrs> = {
  name: 'attention',
  cpu: () => { throw new Error('attention: the CPU composes it from matmul and softmax kernels'); },
  gpu: (ctx, inputs, _outs, { shape, dtype }) => attentionForward(ctx, inputs, dtype, shape),
};

const backwardKernel: Kernel<Attrs> = {
  name: 'attentionBackward',
  cpu: () => { throw new Error('attentionBackward: the CPU composes it from matmul and softmax kernels'); },
  gpu: (ctx, inputs, _outs, { shape, dtype, layout }) => attentionBackward(ctx, inputs, dtype, shape, layout!),
};

/** An attention call's options with their defaults, checked (`op` names the caller in errors). */
function checkedOptions(op: string, options: AttentionOptions, D: number): { causal: boolean; p: number; scale: number } {
  const p = options.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`${op}: dropout must be in [0, 1), got ${p}`);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (!Number.isFinite(scale)) throw new Error(`${op}: scale must be finite, got ${scale}`);
  return { causal: options.causal ?? true, p, scale };
}

/** The attention weights of a slice after the mask, softmax and dropout (element 0 is element `base` of the draw), and before dropout. */
function weights(q: Tensor, k: Tensor, s: AttentionShape, causal: boolean, base: number): { att: Tensor; dropped: Tensor } {
  const scores = q.matmul(k.transpose(-2, -1)).mul(s.scale);
  const att = softmaxLast(scores, causal ? { offset: s.offset } : undefined);
  return { att, dropped: s.p > 0 ? applyDropoutDraw(att, s.key, s.p, base) : att };
}

/** Weights the CPU materialises at once: above this, batches and heads are taken in slices. */
const CPU_WEIGHT_BYTES = 16 * 2 ** 20;

interface Slice { b: number; h0: number; hc: number; base: number }

/** (batch, head range) slices whose Tq × Tk weights fit CPU_WEIGHT_BYTES; null when all of them do. */
function slices(s: AttentionShape): Slice[] | null {
  const perHead = s.Tq * s.Tk * 4;
  if (s.B * s.H * perHead <= CPU_WEIGHT_BYTES) return null;
  const hc = Math.max(1, Math.floor(CPU_WEIGHT_BYTES / perHead));
  const out: Slice[] = [];
  for (let b = 0; b < s.B; b++) for (let h0 = 0; h0 < s.H; h0 += hc) out.push({ b, h0, hc: Math.min(hc, s.H - h0), base: (b * s.H + h0) * perHead / 4 });
  return out;
}

/**
 * softmax(q·kᵀ·scale) v over the last two dims of (B, H, T, D) tensors (or (N, T, D)), with a causal
 * mask and dropout on the weights as options; gradients flow to q, k and v. The result is
 * (B, H, Tq, D); on the GPU it is a view of a (B, Tq, H, D) tensor, so `.transpose(1, 2)` to
 * re-assemble heads costs no copy.
 * @example const y = scaledDotProductAttention(q, k, v, { causal: true, dropout: training ? 0.1 : 0 });
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const device = sameDevice('scaledDotProductAttention', [q, k, v]);
  if (q.ndim === 3 && k.ndim === 3 && v.ndim === 3) {
    return scaledDotProductAttention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1), options).squeeze(1);
  }
  const shapes = `q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}`;
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new Error(`scaledDotProductAttention: expected (B, H, T, D) tensors (or (N, T, D)), got ${shapes}`);
  const [B, H, Tq, D] = q.shape as [number, number, number, number];
  const Tk = k.shape[2]!;
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== D || v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== Tk || v.shape[3] !== D) {
    throw new Error(`scaledDotProductAttention: k and v must be (B, H, Tk, D) with q's B, H and D, got ${shapes}`);
  }
  if (q.dtype !== k.dtype || q.dtype !== v.dtype || !isFloat(q.dtype)) throw new Error(`scaledDotProductAttention: q, k and v must share one floating-point dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  const { causal, p, scale } = checkedOptions('scaledDotProductAttention', options, D);
  if (causal && Tk < Tq) throw new Error(`scaledDotProductAttention: a causal mask needs at least as many keys as queries (the queries are the last Tq positions), got ${shapes}`);
  if (Tk === 0 || D === 0) throw new Error(`scaledDotProductAttention: needs at least one key and one feature, got ${shapes}`);
  const s: AttentionShape = { B, H, Tq, Tk, D, offset: causal ? Tk - Tq : Tk, scale, p, key: p > 0 ? nextDrawKey() : 0 };
  if (B * H * Tq === 0) return noGrad(() => q.mul(0));
  return device === 'gpu' ? attentionGpu(q, k, v, s) : attentionCpu(q, k, v, s, causal);
}

function attentionGpu(q: Tensor, k: Tensor, v: Tensor, s: AttentionShape): Tensor {
  if (s.B * s.H > 65535) throw new Error(`scaledDotProductAttention: B·H = ${s.B * s.H} exceeds the GPU's 65,535 workgroups per dimension`);
  const [o, lse] = runKernel(forwardKernel, [q, k, v], [{ shape: [s.B, s.Tq, s.H, s.D], dtype: q.dtype }, { shape: [s.B, s.H, s.Tq], dtype: 'float32' }], { shape: s, dtype: q.dtype });
  const rowStride = s.H * s.D;
  const layout: GradientLayout = { packed: false, dqBase: 0, dkBase: 0, dvBase: s.B * s.Tk * rowStride, rowStride };
  const out = record(o!, 'attention', [q, k, v], (g) => {
    // dK and dV share one buffer (one binding for the kernel that writes both)
    const [dq, dkv] = runKernel(backwardKernel, [q, k, v, o!, lse!, g.transpose(1, 2)], [
      { shape: [s.B, s.Tq, s.H, s.D], dtype: q.dtype },
      { shape: [2, s.B, s.Tk, s.H, s.D], dtype: q.dtype },
    ], { shape: s, dtype: q.dtype, layout });
    return [dq!.transpose(1, 2), dkv!.select(0, 0).transpose(1, 2), dkv!.select(0, 1).transpose(1, 2)];
  });
  if (!out.requiresGrad) lse!.dispose();
  return out.transpose(1, 2);
}

/**
 * Causal self-attention over a packed projection: qkv (B, T, 3C) holds q, k and v side by side (as
 * nanoGPT's c_attn makes them), split into `nHead` heads; returns (B, T, C), heads re-assembled.
 * The same as splitting and calling `scaledDotProductAttention`, but on the GPU the heads are read
 * in place and backward writes the gradient of qkv directly: no split, copies or sums of partial
 * gradients.
 * @example const y = selfAttention(this.c_attn.forward(x), 12, { dropout: this.training ? 0.1 : 0 });
 */
export function selfAttention(qkv: Tensor, nHead: number, options: AttentionOptions = {}): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2]! % 3 !== 0) throw new Error(`selfAttention: expected qkv of shape (B, T, 3C), got ${fmt(qkv.shape)}`);
  const [B, T, C3] = qkv.shape as [number, number, number];
  const C = C3 / 3;
  if (!Number.isInteger(nHead) || nHead <= 0 || C % nHead !== 0) throw new Error(`selfAttention: ${C} channels do not split into ${nHead} heads`);
  const D = C / nHead;
  if (qkv.device !== 'gpu' || B * nHead > 65535 || B * T === 0) {
    const heads = (t: Tensor) => t.view(B, T, nHead, D).transpose(1, 2);
    const [q, k, v] = qkv.split(C, 2).map(heads);
    return scaledDotProductAttention(q!, k!, v!, options).transpose(1, 2).contiguous().view(B, T, C);
  }
  if (!isFloat(qkv.dtype)) throw new Error(`selfAttention: qkv must be floating point, got ${qkv.dtype}`);
  const { causal, p, scale } = checkedOptions('selfAttention', options, D);
  const s: AttentionShape = { B, H: nHead, Tq: T, Tk: T, D, offset: causal ? 0 : T, scale, p, key: p > 0 ? nextDrawKey() : 0 };
  const x = qkv.contiguous();
  const part = (k: number): View => ({ storage: x.storage, shape: [B, nHead, T, D], strides: [T * C3, D, C3, 1], offset: x.offset + k * C, dtype: x.dtype });
  const [qv, kv, vv] = [part(0), part(1), part(2)];
  const [o, lse] = runKernel(forwardKernel, [qv, kv, vv], [{ shape: [B, T, nHead, D], dtype: x.dtype }, { shape: [B, nHead, T], dtype: 'float32' }], { shape: s, dtype: x.dtype });
  const layout: GradientLayout = { packed: true, dqBase: 0, dkBase: C, dvBase: 2 * C, rowStride: C3 };
  const out = record(o!, 'selfAttention', [x], (g) => [
    runKernel(backwardKernel, [qv, kv, vv, o!, lse!, g.transpose(1, 2)], [{ shape: [B, T, C3], dtype: x.dtype }], { shape: s, dtype: x.dtype, layout })[0]!,
  ]);
  if (!out.requiresGrad) lse!.dispose();
  return out.view(B, T, C);
}

function attentionCpu(q: Tensor, k: Tensor, v: Tensor, s: AttentionShape, causal: boolean): Tensor {
  const parts = slices(s);
  const cut = (t: Tensor, c: Slice) => t.narrow(0, c.b, 1).narrow(1, c.h0, c.hc);
  /** Run `fn` on every slice (or once on the whole) and put the results back together along batch and heads. */
  const bySlice = (fn: (q: Tensor, k: Tensor, v: Tensor, base: number, c: Slice | null) => (Tensor | null)[]): (Tensor | null)[] => {
    if (parts === null) return fn(q, k, v, 0, null);
    const results = parts.map((c) => tidy(() => fn(cut(q, c), cut(k, c), cut(v, c), c.base, c)));
    return results[0]!.map((_, i) => {
      if (results[0]![i] === null) return null;
      const rows: Tensor[] = [];
      for (let b = 0; b < s.B; b++) rows.push(cat(results.filter((_, j) => parts[j]!.b === b).map((r) => r[i]!), 1));
      return cat(rows, 0);
    });
  };
  const out = noGrad(() => tidy(() => bySlice((qs, ks, vs, base) => [weights(qs, ks, s, causal, base).dropped.matmul(vs)])[0]!));
  return record(out, 'attention', [q, k, v], (g, needs) => noGrad(() => bySlice((qs, ks, vs, base, c) => {
    const gs = c === null ? g : cut(g, c);
    const { att, dropped } = weights(qs, ks, s, causal, base);
    const dv = needs[2] ? dropped.transpose(-2, -1).matmul(gs) : null;
    if (dropped !== att) dropped.dispose();
    let dAtt = gs.matmul(vs.transpose(-2, -1));
    if (s.p > 0) {
      const d = applyDropoutDraw(dAtt, s.key, s.p, base);
      dAtt.dispose();
      dAtt = d;
    }
    // softmax backward: att ⊙ (dAtt − Σⱼ dAtt ⊙ att), times the scale
    const rowDot = dAtt.mul(att).sum(-1, true);
    const centred = dAtt.sub(rowDot);
    dAtt.dispose();
    const dScores = att.mul(centred).mul(s.scale);
    att.dispose();
    centred.dispose();
    return [needs[0] ? dScores.matmul(ks) : null, needs[1] ? dScores.transpose(-2, -1).matmul(qs) : null, dv];
  })));
}
