import fc from 'fast-check';
import type { Tensor } from '@llmts/tensor';
import type { DifferentiableOp } from '@llmts/tensor/internal';
import { cat, causalSoftmax, crossEntropy, gather, gelu, layerNorm, matmul, softmax, where } from '@llmts/tensor';
import { broadcastPairArb, dimsArb, distinctValuesArb, hostArb, numelOf, shapeArb, valuesArb, type HostTensor } from './arbitraries.ts';

/** One drawn gradient-check problem: inputs and the function of them to differentiate. */
export interface GradProblem {
  inputs: HostTensor[];
  run: (...xs: Tensor[]) => Tensor;
  /** Inputs that get requiresGrad (default: the float ones). */
  grads?: boolean[];
  label: string;
}

export interface GradCase {
  arb: fc.Arbitrary<GradProblem>;
  eps?: number;
  rtol?: number;
  atol?: number;
}

const unaryCase = (run: (x: Tensor) => Tensor, min = -2, max = 2, avoid: number[] = []): GradCase => ({
  arb: shapeArb(0, 3).chain((s) => hostArb(s, min, max, avoid)).map((x) => ({ inputs: [x], run, label: `shape [${x.shape}]` })),
});

const binaryCase = (run: (a: Tensor, b: Tensor) => Tensor, ra: [number, number] = [-2, 2], rb: [number, number] = [-2, 2], avoidB: number[] = []): GradCase => ({
  arb: broadcastPairArb().chain(([sa, sb]) =>
    fc.tuple(hostArb(sa, ...ra), hostArb(sb, rb[0], rb[1], avoidB)).map(([a, b]) => ({ inputs: [a, b], run, label: `[${sa}] with [${sb}]` }))),
});

/** maximum/minimum: b = a + offset kept away from 0 so there are no ties (the gradient splits there). */
const pickCase = (run: (a: Tensor, b: Tensor) => Tensor): GradCase => ({
  arb: shapeArb(0, 3).chain((s) =>
    fc.tuple(valuesArb(s), valuesArb(s, -1, 1, [0], 0.1)).map(([a, d]) => ({
      inputs: [{ shape: s, values: a, dtype: 'float64' as const }, { shape: s, values: a.map((v, i) => v + d[i]!), dtype: 'float64' as const }],
      run,
      label: `[${s}]`,
    }))),
});

const reduceCase = (run: (x: Tensor, dims: number[], keep: boolean) => Tensor, distinct: boolean): GradCase => ({
  arb: shapeArb(1, 3).chain((s) =>
    fc.tuple(distinct ? distinctValuesArb(s) : valuesArb(s), dimsArb(s.length), fc.boolean()).map(([values, dims, keep]) => ({
      inputs: [{ shape: s, values, dtype: 'float64' as const }],
      run: (x: Tensor) => run(x, dims, keep),
      label: `[${s}] dims [${dims}] keepdim ${keep}`,
    }))),
});

/** Every differentiable primitive of the registry, with how to draw problems for it. */
export const gradCases: Record<DifferentiableOp, GradCase> = {
  neg: unaryCase((x) => x.neg()),
  exp: unaryCase((x) => x.exp()),
  log: unaryCase((x) => x.log(), 0.2, 3),
  sqrt: unaryCase((x) => x.sqrt(), 0.2, 3),
  rsqrt: unaryCase((x) => x.rsqrt(), 0.2, 3),
  tanh: unaryCase((x) => x.tanh()),
  sigmoid: unaryCase((x) => x.sigmoid(), -4, 4),
  relu: unaryCase((x) => x.relu(), -2, 2, [0]),
  abs: unaryCase((x) => x.abs(), -2, 2, [0]),
  erf: unaryCase((x) => x.erf(), -3, 3),
  sin: unaryCase((x) => x.sin(), -3, 3),
  cos: unaryCase((x) => x.cos(), -3, 3),
  clamp: unaryCase((x) => x.clamp(-0.5, 0.7), -2, 2, [-0.5, 0.7]),
  cast: { ...unaryCase((x) => x.to('float32').mul(3)), eps: 1e-2, rtol: 1e-3, atol: 1e-4 },
  add: binaryCase((a, b) => a.add(b)),
  sub: binaryCase((a, b) => a.sub(b)),
  mul: binaryCase((a, b) => a.mul(b)),
  div: binaryCase((a, b) => a.div(b), [-2, 2], [0.3, 2]),
  pow: binaryCase((a, b) => a.pow(b), [0.3, 2], [-2, 2]),
  maximum: pickCase((a, b) => a.maximum(b)),
  minimum: pickCase((a, b) => a.minimum(b)),
  where: {
    arb: broadcastPairArb().chain(([sa, sb]) =>
      fc.tuple(hostArb(sa), hostArb(sb), fc.array(fc.boolean(), { minLength: numelOf(sa), maxLength: numelOf(sa) })).map(([a, b, c]) => ({
        inputs: [{ shape: sa, values: c.map(Number), dtype: 'bool' as const }, a, b],
        run: (cond: Tensor, x: Tensor, y: Tensor) => where(cond, x, y),
        label: `cond [${sa}] a [${sa}] b [${sb}]`,
      }))),
  },
  sum: reduceCase((x, d, k) => x.sum(d, k), false),
  max: reduceCase((x, d, k) => x.amax(d, k), true),
  min: reduceCase((x, d, k) => x.amin(d, k), true),
  matmul: {
    arb: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), broadcastPairArb(2, 3), fc.integer({ min: 0, max: 3 }))
      .chain(([m, k, n, [ba, bb], vec]) => {
        const sa = vec === 1 ? [k] : [...ba, m, k];
        const sb = vec === 2 ? [k] : vec === 3 ? [k, n] : [...bb, k, n];
        return fc.tuple(hostArb(sa), hostArb(sb)).map(([a, b]) => ({ inputs: [a, b], run: (x: Tensor, y: Tensor) => matmul(x, y), label: `[${sa}] @ [${sb}]` }));
      }),
  },
  view: {
    arb: shapeArb(1, 3).chain((s) => hostArb(s)).map((x) => ({
      inputs: [x],
      run: (t: Tensor) => t.view([-1]).view([1, -1]).view(x.shape).mul(t),
      label: `[${x.shape}]`,
    })),
  },
  permute: {
    arb: shapeArb(1, 4).chain((s) => fc.tuple(hostArb(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })))
      .map(([x, perm]) => ({ inputs: [x], run: (t: Tensor) => t.permute(perm).mul(t.permute(perm).exp()), label: `[${x.shape}] perm [${perm}]` })),
  },
  expand: {
    arb: shapeArb(1, 3).chain((s) => fc.tuple(hostArb(s.map((d, i) => (i % 2 === 0 ? 1 : d))), fc.integer({ min: 1, max: 3 })).map(([x, lead]) => ({
      inputs: [x],
      run: (t: Tensor) => t.expand([lead, ...s]).mul(2),
      label: `[${x.shape}] to [${lead},${s}]`,
    }))),
  },
  slice: {
    arb: shapeArb(1, 3, 6).chain((s) => fc.tuple(hostArb(s), fc.integer({ min: 0, max: s.length - 1 }), fc.integer({ min: -6, max: 6 }), fc.integer({ min: -6, max: 6 }), fc.integer({ min: 1, max: 3 })))
      .map(([x, dim, start, end, step]) => ({
        inputs: [x],
        run: (t: Tensor) => t.slice(dim, start, end, step).mul(1.5),
        label: `[${x.shape}] slice(${dim}, ${start}, ${end}, ${step})`,
      })),
  },
  clone: {
    arb: shapeArb(2, 3).chain((s) => hostArb(s)).map((x) => ({ inputs: [x], run: (t: Tensor) => t.transpose(0, -1).clone().mul(t.transpose(0, -1)), label: `[${x.shape}]` })),
  },
  cat: {
    arb: shapeArb(1, 3).chain((s) => fc.tuple(fc.integer({ min: 0, max: s.length - 1 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([dim, n1, n2]) => {
      const s1 = s.map((d, i) => (i === dim ? n1 : d));
      const s2 = s.map((d, i) => (i === dim ? n2 : d));
      return fc.tuple(hostArb(s), hostArb(s1), hostArb(s2)).map(([a, b, c]) => ({
        inputs: [a, b, c],
        run: (x: Tensor, y: Tensor, z: Tensor) => cat([x, y, z], dim).exp(),
        label: `[${s}] [${s1}] [${s2}] dim ${dim}`,
      }));
    })),
  },
  gather: {
    arb: shapeArb(1, 3).chain((s) => fc.tuple(hostArb(s), fc.integer({ min: 0, max: s.length - 1 }), fc.integer({ min: 1, max: 5 })).chain(([x, dim, k]) => {
      const is = s.map((d, i) => (i === dim ? k : d));
      return fc.array(fc.integer({ min: 0, max: s[dim]! - 1 }), { minLength: numelOf(is), maxLength: numelOf(is) }).map((idx) => ({
        inputs: [x, { shape: is, values: idx, dtype: 'int32' as const }],
        run: (t: Tensor, i: Tensor) => gather(t, dim, i),
        label: `[${s}] dim ${dim} index [${is}]`,
      }));
    })),
  },
  scatterAdd: {
    arb: shapeArb(1, 3).chain((s) => fc.tuple(hostArb(s), fc.integer({ min: 0, max: s.length - 1 }), fc.integer({ min: 1, max: 5 })).chain(([x, dim, k]) => {
      const is = s.map((d, i) => (i === dim ? k : d));
      return fc.tuple(hostArb(is), fc.array(fc.integer({ min: 0, max: s[dim]! - 1 }), { minLength: numelOf(is), maxLength: numelOf(is) })).map(([src, idx]) => ({
        inputs: [x, { shape: is, values: idx, dtype: 'int32' as const }, src],
        run: (t: Tensor, i: Tensor, u: Tensor) => t.scatterAdd(dim, i, u).mul(t.scatterAdd(dim, i, u)),
        label: `[${s}] dim ${dim} index [${is}]`,
      }));
    })),
  },
  softmax: {
    // causal rows need as many columns as rows (S >= T)
    arb: shapeArb(1, 3).map((sh) => (sh.length >= 2 ? [...sh.slice(0, -1), Math.max(sh[sh.length - 1]!, sh[sh.length - 2]!)] : sh))
      .chain((sh) => fc.tuple(hostArb(sh, -3, 3), fc.integer({ min: -sh.length, max: sh.length - 1 }), fc.boolean())).map(([x, dim, causal]) => ({
      inputs: [x],
      run: (t: Tensor) => (causal && t.ndim >= 2 ? causalSoftmax(t) : softmax(t, dim)),
      label: `[${x.shape}] ${causal && x.shape.length >= 2 ? 'causal' : `dim ${dim}`}`,
    })),
  },
  layerNorm: {
    arb: shapeArb(1, 3).chain((sh) => fc.tuple(hostArb(sh.map((d, i) => (i === sh.length - 1 ? d + 1 : d))), fc.boolean())).chain(([x, affine]) => {
      const c = x.shape[x.shape.length - 1]!;
      return fc.tuple(hostArb([c]), hostArb([c])).map(([w, b]) => ({
        inputs: affine ? [{ ...x, values: x.values.map((v, i) => v + (i % 3) * 0.4) }, w, b] : [{ ...x, values: x.values.map((v, i) => v + (i % 3) * 0.4) }],
        run: (t: Tensor, wt?: Tensor, bs?: Tensor) => layerNorm(t, [c], wt ?? null, bs ?? null),
        label: `[${x.shape}] affine ${affine}`,
      }));
    }),
    rtol: 1e-4, atol: 1e-6,
  },
  gelu: {
    arb: shapeArb(0, 3).chain((sh) => fc.tuple(hostArb(sh, -4, 4), fc.boolean())).map(([x, tanh]) => ({
      inputs: [x],
      run: (t: Tensor) => gelu(t, { approximate: tanh ? 'tanh' : 'none' }),
      label: `[${x.shape}] ${tanh ? 'tanh' : 'exact'}`,
    })),
  },
  crossEntropy: {
    arb: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 6 }), fc.constantFrom(0, 0.1), fc.constantFrom('mean', 'sum', 'none')).chain(([n, c, smoothing, reduction]) =>
      fc.tuple(hostArb([n, c], -3, 3), fc.array(fc.integer({ min: -1, max: c - 1 }), { minLength: n, maxLength: n })).map(([x, t]) => ({
        inputs: [x, { shape: [n], values: t.map((v) => (v < 0 ? -100 : v)), dtype: 'int32' as const }],
        run: (l: Tensor, y: Tensor) => crossEntropy(l, y, { labelSmoothing: smoothing, reduction: reduction as 'mean' }),
        label: `[${n},${c}] smoothing ${smoothing} ${reduction}`,
      }))),
  },
};
