/**
 * Multi-tensor optimizer kernels: one GPU dispatch updates or reduces as many tensors as the
 * device lets one dispatch bind, instead of one dispatch (or four) per parameter.
 *
 * A dispatch over tensors t0…tk-1 launches Σ nₜ threads (or Σ chunks workgroups); params hold each
 * tensor's starting index in that range, and the generated code picks the tensor by comparing the
 * thread's index with those starts (WGSL cannot index bindings, so each tensor gets its own branch).
 *
 * - `adamUpdateMany_`: the per-parameter Adam/AdamW update of ops/optim.ts, same arithmetic.
 * - `clipGradNorm_`: squares summed by many workgroups per tensor into partial sums, one workgroup
 *   for the total and the clip coefficient, then every gradient scaled in place.
 */
import type { DType } from '../dtype.ts';
import type { GpuKernelContext, Kernel, Storage, View } from '../backend/types.ts';
import { getBackend } from '../backend/registry.ts';
import { cachedSource, f32bits, header, load, store } from '../backend/webgpu/codegen.ts';
import { noGrad } from '../autograd/mode.ts';
import { Tensor } from '../tensor.ts';
import { ownsWholeStorage, sameDevice } from './apply.ts';
import { adamScalars, adamUpdate_, checkParam, type AdamHyper } from './optim.ts';

/** One parameter's Adam step: the parameter, its gradient, its two moments and its hyper-parameters. */
export interface AdamItem {
  param: Tensor;
  grad: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
  hyper: AdamHyper;
}

interface ManyAttrs {
  /** Per tensor of the dispatch: its hyper-parameters (the optimizer's objects, so a captured graph's replays follow them). */
  hypers: AdamHyper[];
  counts: number[];
}

/** [0, v0, v0 + v1, …]: where each tensor's range starts in a dispatch over several, and the total last. */
function starts(values: readonly number[]): number[] {
  const out = [0];
  for (const v of values) out.push(out[out.length - 1]! + v);
  return out;
}

/** Branch on the thread index `i` over tensors whose starts are P[at…at+k]; `body(t)` uses `j` (index in tensor t). */
function branches(k: number, at: number, body: (t: number) => string): string {
  return Array.from({ length: k }, (_, t) => `${t === 0 ? '' : ' else '}if (i < P[${at + t + 1}u]) {
    let j = i - P[${at + t}u];
${body(t)}
  }`).join('');
}

function adamMany(ctx: GpuKernelContext, grads: readonly View[], dtypes: readonly DType[], a: ManyAttrs): void {
  const k = grads.length;
  const at = starts(a.counts);
  const total = at[k]!;
  if (total === 0) return;
  const hyperAt = 1 + (k + 1) + k; // total, starts, grad offsets
  const decls = () => Array.from({ length: k }, (_, t) => [
    { name: `g${t}`, dtype: grads[t]!.dtype },
    { name: `p${t}`, dtype: dtypes[t]!, write: true },
    { name: `m${t}`, dtype: 'float32' as DType, write: true },
    { name: `v${t}`, dtype: 'float32' as DType, write: true },
  ]).flat();
  const code = cachedSource(`adam.many:${grads.map((g) => g.dtype).join()}:${dtypes.join()}`, () => `${header(decls())}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= P[0]) { return; }
  ${branches(k, 1, (t) => {
    const h = hyperAt + 7 * t;
    return `    let gi0 = ${load(grads[t]!.dtype, `g${t}[P[${2 + k + t}u] + j]`)};
    let pw = ${load(dtypes[t]!, `p${t}[j]`)};
    let gi = gi0 + pf(${h + 5}u) * pw;
    let mi = m${t}[j] * pf(${h + 1}u) + gi * (1.0 - pf(${h + 1}u));
    let vi = v${t}[j] * pf(${h + 2}u) + gi * gi * (1.0 - pf(${h + 2}u));
    m${t}[j] = mi;
    v${t}[j] = vi;
    p${t}[j] = ${store(dtypes[t]!, `pw * pf(${h}u) - pf(${h + 4}u) * mi / (sqrt(vi) / pf(${h + 6}u) + pf(${h + 3}u))`)};`;
  })}
}`);
  const bindings = Array.from({ length: k }, (_, t) => [{ input: t }, { output: 3 * t }, { output: 3 * t + 1 }, { output: 3 * t + 2 }]).flat();
  const head = [total, ...at, ...grads.map((g) => g.offset)];
  const params = (): number[] => [...head, ...a.hypers.flatMap((h) => adamScalars(h).map(f32bits))];
  ctx.dispatch({ code, bindings, params: params(), workgroups: { threads: total, size: 256 }, refresh: params });
}

const adamManyKernel: Kernel<ManyAttrs & { dtypes: DType[] }> = {
  name: 'optim.adam.many',
  cpu: () => { throw new Error('optim.adam.many: the CPU updates one parameter at a time'); },
  gpu: (ctx, grads, _specs, a) => adamMany(ctx, grads, a.dtypes, a),
};

/** Tensors per dispatch at most (the generated branches grow with it). */
const MAX_GROUP = 16;

/**
 * Consecutive groups of items whose bindings (`cost`, more than one per tensor bound in windows)
 * fit in `budget`; an item that alone exceeds it is a group of its own (the backend then says why).
 */
function groupsByBindings(count: number, cost: (i: number) => number, budget: number): number[][] {
  const groups: number[][] = [];
  let group: number[] = [];
  let used = 0;
  for (let i = 0; i < count; i++) {
    const c = cost(i);
    if (group.length > 0 && (used + c > budget || group.length === MAX_GROUP)) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(i);
    used += c;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Adam/AdamW steps for many parameters: on the GPU a few dispatches for all of them (as many
 * parameters per dispatch as the device can bind), on the CPU one SIMD loop each. The same
 * arithmetic as `adamUpdate_`.
 */
export function adamUpdateMany_(items: readonly AdamItem[]): void {
  if (items.length === 0) return;
  const device = items[0]!.param.device;
  if (device !== 'gpu' || items.length === 1) {
    for (const it of items) adamUpdate_(it.param, it.grad, it.expAvg, it.expAvgSq, it.hyper);
    return;
  }
  for (const it of items) {
    checkParam('adamUpdateMany_', it.param, [it.expAvg, it.expAvgSq]);
    sameDevice('adamUpdateMany_', [it.param, it.grad]);
    if (it.grad.shape.join() !== it.param.shape.join()) throw new Error(`adamUpdateMany_: gradient shape [${it.grad.shape}] does not match the parameter's [${it.param.shape}]`);
  }
  const backend = getBackend('gpu');
  const bindings = (s: Storage) => backend.bindingsOf?.(s) ?? 1;
  const cost = (i: number) => { const it = items[i]!; return bindings(it.grad.storage) + bindings(it.param.storage) + bindings(it.expAvg.storage) + bindings(it.expAvgSq.storage); };
  noGrad(() => {
    for (const indices of groupsByBindings(items.length, cost, (backend.caps?.maxStorageBuffers ?? 8) - 1)) {
      const group = indices.map((i) => items[i]!);
      const grads = group.map((it) => it.grad.contiguous());
      const targets: Storage[] = group.flatMap((it) => [it.param.storage, it.expAvg.storage, it.expAvgSq.storage]);
      backend.execInPlace(adamManyKernel, grads, targets, { hypers: group.map((it) => it.hyper), counts: group.map((it) => it.param.numel()), dtypes: group.map((it) => it.param.dtype) });
      grads.forEach((g, i) => { if (g !== group[i]!.grad) g.dispose(); });
    }
  });
}

// ---- gradient-norm clipping ---------------------------------------------------------------------

/** Elements one workgroup sums: 256 threads × 16. */
const CHUNK = 4096;

interface ClipAttrs {
  maxNorm: number;
  eps: number;
  /** Number of gradients (the targets after them are the norm and the coefficient). */
  count: number;
  /** The gradients of each dispatch, as many as the device lets one bind. */
  groups: number[][];
}

/** Σ x² of every gradient → partial sums (one per workgroup), into `partials` from `base`. */
function sumSquaresCode(dtypes: readonly DType[]): string {
  const k = dtypes.length;
  return cachedSource(`clip.squares:${dtypes.join()}`, () => `${header([...dtypes.map((dtype, t) => ({ name: `g${t}`, dtype, write: true })), { name: 'partials', dtype: 'float32', write: true }])}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= P[1u + ${k}u]) { return; }
  var s = 0.0;
  let i = w;
  ${branches(k, 1, (t) => `    let n = P[${2 + k + t}u];
    for (var e = l; e < ${CHUNK}u; e += 256u) {
      let idx = j * ${CHUNK}u + e;
      if (idx < n) { let x = ${load(dtypes[t]!, `g${t}[idx]`)}; s += x * x; }
    }`)}
  red[l] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) { if (l < h) { red[l] += red[l + h]; } workgroupBarrier(); }
  if (l == 0u) { partials[P[0] + w] = red[0]; }
}`);
}

/** One workgroup: total = Σ partials, norm = √total, coefficient = min(1, maxNorm / (norm + eps)). */
const FINISH = `${header([{ name: 'partials', dtype: 'float32', write: true }, { name: 'norm', dtype: 'float32', write: true }, { name: 'coef', dtype: 'float32', write: true }])}
var<workgroup> red: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) l: u32) {
  var s = 0.0;
  for (var e = l; e < P[0]; e += 256u) { s += partials[e]; }
  red[l] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) { if (l < h) { red[l] += red[l + h]; } workgroupBarrier(); }
  if (l == 0u) {
    let total = sqrt(red[0]);
    norm[0] = total;
    coef[0] = min(1.0, pf(1u) / (total + pf(2u)));
  }
}`;

/** g *= coefficient for every gradient of the dispatch. */
function scaleCode(dtypes: readonly DType[]): string {
  const k = dtypes.length;
  return cachedSource(`clip.scale:${dtypes.join()}`, () => `${header([...dtypes.map((dtype, t) => ({ name: `g${t}`, dtype, write: true })), { name: 'coef', dtype: 'float32', write: true }])}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= P[0]) { return; }
  let c = coef[0];
  ${branches(k, 1, (t) => `    g${t}[j] = ${store(dtypes[t]!, `${load(dtypes[t]!, `g${t}[j]`)} * c`)};`)}
}`);
}

const clipKernel: Kernel<ClipAttrs> = {
  name: 'clipGradNorm',
  cpu: (outs, _inputs, a) => {
    let total = 0;
    for (let t = 0; t < a.count; t++) {
      const g = outs[t]!;
      for (let i = 0; i < g.length; i++) total += Number(g[i]) * Number(g[i]);
    }
    const norm = Math.sqrt(total);
    const coef = Math.fround(Math.min(1, a.maxNorm / (norm + a.eps)));
    for (let t = 0; t < a.count; t++) {
      const g = outs[t]!;
      for (let i = 0; i < g.length; i++) g[i] = Number(g[i]) * coef;
    }
    outs[a.count]![0] = norm;
    outs[a.count + 1]![0] = coef;
  },
  gpu: (ctx, _inputs, specs, a) => {
    const sizes = specs.slice(0, a.count).map((s) => s.shape[0]!);
    const dtypes = specs.slice(0, a.count).map((s) => s.dtype);
    const chunks = sizes.map((n) => Math.ceil(n / CHUNK));
    const partials = ctx.scratch(4 * Math.max(1, chunks.reduce((x, y) => x + y, 0)));
    const groups = a.groups;
    let base = 0;
    for (const g of groups) {
      const at = starts(g.map((t) => chunks[t]!));
      const n = at[at.length - 1]!;
      if (n === 0) continue;
      ctx.dispatch({
        code: sumSquaresCode(g.map((t) => dtypes[t]!)),
        bindings: [...g.map((t) => ({ output: t })), { scratch: partials }],
        params: [base, ...at, ...g.map((t) => sizes[t]!)],
        workgroups: { threads: n, size: 1 },
      });
      base += n;
    }
    ctx.dispatch({ code: FINISH, bindings: [{ scratch: partials }, { output: a.count }, { output: a.count + 1 }], params: [base, f32bits(a.maxNorm), f32bits(a.eps)], workgroups: [1] });
    for (const g of groups) {
      const at = starts(g.map((t) => sizes[t]!));
      const n = at[at.length - 1]!;
      if (n === 0) continue;
      ctx.dispatch({
        code: scaleCode(g.map((t) => dtypes[t]!)),
        bindings: [...g.map((t) => ({ output: t })), { output: a.count + 1 }],
        params: [n, ...at],
        workgroups: { threads: n, size: 256 },
      });
    }
  },
};

/**
 * Scale `grads` in place so their global L2 norm is at most maxNorm (PyTorch's clip_grad_norm_:
 * coefficient min(1, maxNorm / (norm + eps))); returns the norm before clipping (0-d, on the
 * device). Every gradient must own its memory (contiguous, offset 0, whole storage) and none may
 * share a storage. On the GPU: ⌈n/k⌉ dispatches of squares, one for the total, ⌈n/k⌉ to scale.
 */
export function clipGradNorm_(grads: readonly Tensor[], maxNorm: number, eps: number): Tensor {
  if (grads.length === 0) throw new Error('clipGradNorm_: no gradients');
  const device = grads[0]!.device;
  const seen = new Set<Storage>();
  for (const g of grads) {
    if (g.device !== device) throw new Error(`clipGradNorm_: gradients on ${device} and ${g.device}`);
    if (!ownsWholeStorage(g) || seen.has(g.storage)) {
      throw new Error('clipGradNorm_: every gradient must own its memory (contiguous, whole storage, not shared)');
    }
    seen.add(g.storage);
  }
  const backend = getBackend(device);
  // written by the kernel: allocated without a fill dispatch
  const norm = new Tensor(backend.alloc('float32', 1), []);
  const coef = new Tensor(backend.alloc('float32', 1), []);
  // each dispatch binds its gradients, the partial sums (or the coefficient) and the params
  const groups = groupsByBindings(grads.length, (i) => backend.bindingsOf?.(grads[i]!.storage) ?? 1, (backend.caps?.maxStorageBuffers ?? 8) - 2);
  backend.execInPlace(clipKernel, [], [...grads.map((g) => g.storage), norm.storage, coef.storage], { maxNorm, eps, count: grads.length, groups });
  coef.dispose();
  return norm;
}
