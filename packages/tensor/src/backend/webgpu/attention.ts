/**
 * Fused attention on the GPU (flash-attention style): the (T × T) scores never reach memory.
 *
 * Forward: one thread per query row, 64 rows per workgroup; keys and values stream through
 * workgroup memory in tiles; an online softmax (running max and sum) rescales the output
 * accumulator, so one pass gives the output and the row's log-sum-exp, which is all backward needs.
 *
 * Backward: two dispatches. The first, one thread per query row, computes Dᵢ = dOᵢ·Oᵢ and dQ; the
 * second, one thread per key row, recomputes each probability from the saved log-sum-exp and adds
 * up dK and dV. Dropout on the probabilities is regenerated from its counter-based draw (element
 * (b, h, i, j) of the (B, H, Tq, Tk) weights), the same draw `dropout` makes on that tensor.
 *
 * Params (u32 words): B, H, Tq, Tk, D, offset (query i sees keys j <= i + offset), scale, dropout p,
 * 1/(1-p), draw key, has dropout; then four words of strides plus an offset per strided view.
 */
import type { DType } from '../../dtype.ts';
import type { GpuCaps, GpuKernelContext, View } from '../types.ts';
import { cachedSource, f32bits, header, load, store } from './codegen.ts';

export interface AttentionShape {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  /** Query i sees keys j <= i + offset. */
  offset: number;
  scale: number;
  /** Dropout probability on the weights (0 = none) and its draw key. */
  p: number;
  key: number;
}

const ROWS = 64;
const COMMON = 11;

function commonParams(s: AttentionShape): number[] {
  return [s.B, s.H, s.Tq, s.Tk, s.D, s.offset, f32bits(s.scale), f32bits(s.p), f32bits(s.p > 0 ? 1 / (1 - s.p) : 1), s.key >>> 0, s.p > 0 ? 1 : 0];
}

/** With dropout, the draw key's word of commonParams (a captured graph redraws it at each replay). */
function keyWordsOf(s: AttentionShape): { keyWords?: readonly number[] } {
  return s.p > 0 ? { keyWords: [9] } : {};
}

/** [offset, stride of b, h, t, d] of a (B, H, T, D) view. */
function viewParams(v: View): number[] {
  return [v.offset, v.strides[0]!, v.strides[1]!, v.strides[2]!, v.strides[3]!];
}

/** WGSL index function of the view whose params start at P[at]. */
function indexFn(name: string, at: number): string {
  return `fn ${name}(b: u32, h: u32, t: u32, d: u32) -> u32 { return P[${at}u] + b * P[${at + 1}u] + h * P[${at + 2}u] + t * P[${at + 3}u] + d * P[${at + 4}u]; }`;
}

/** Keys or queries per tile: the largest power of two up to 32 whose tiles fit workgroup memory. */
function tileFor(caps: GpuCaps, floatsPerRow: number, extraPerRow: number): number {
  let t = 32;
  while (t > 1 && (t * floatsPerRow + t * extraPerRow) * 4 > caps.maxWorkgroupStorage) t >>= 1;
  return t;
}

/**
 * The bindings of q, k and v and the arrays a kernel reads them from: when all three are views of
 * one buffer (heads split from a packed (B, T, 3C) projection) it is bound once, as `q`, which
 * saves two bindings (and, for a buffer bound in windows, two sets of windows).
 */
interface QkvBinding {
  shared: boolean;
  k: string;
  v: string;
  decls: { name: string; dtype: DType }[];
  bindings: { input: number }[];
}

function qkvBinding(q: View, k: View, v: View, dtype: DType): QkvBinding {
  const shared = q.storage === k.storage && k.storage === v.storage;
  return shared
    ? { shared, k: 'q', v: 'q', decls: [{ name: 'q', dtype }], bindings: [{ input: 0 }] }
    : { shared, k: 'k', v: 'v', decls: [{ name: 'q', dtype }, { name: 'k', dtype }, { name: 'v', dtype }], bindings: [{ input: 0 }, { input: 1 }, { input: 2 }] };
}

/** Entry of every attention kernel: head (b, h) from the workgroup's y, the shape from the params. */
const HEAD_MAIN = /* wgsl */ `fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let bh = wid.y;
  let b = bh / P[1];
  let h = bh % P[1];
  let Tq = P[2];
  let Tk = P[3];
  let off = P[5];
  let scale = pf(6u);`;

/** Entry of the kernels with one thread per query row i of head (b, h). */
const QUERY_ROW_MAIN = /* wgsl */ `${HEAD_MAIN}
  let i = wid.x * ${ROWS}u + l;
  let live = i < Tq;`;

/**
 * Opens the loop over tiles of the keys this workgroup's rows see: loads K and V tiles into
 * ks/vs, then sets `n`, how many of the tile's keys row i sees (the caller closes the loop).
 */
function keyTiles(dtype: DType, qkv: QkvBinding): string {
  return `  let lastRow = min(wid.x * ${ROWS}u + ${ROWS - 1}u, Tq - 1u);
  let kEnd = min(Tk, lastRow + off + 1u);
  let myEnd = select(0u, min(Tk, i + off + 1u), live);
  for (var j0 = 0u; j0 < kEnd; j0 += TILE) {
    for (var e = l; e < TILE * D; e += ${ROWS}u) {
      let j = j0 + e / D;
      let d = e % D;
      if (j < Tk) { ks[e] = ${load(dtype, `${qkv.k}[kAt(b, h, j, d)]`)}; vs[e] = ${load(dtype, `${qkv.v}[vAt(b, h, j, d)]`)}; }
    }
    workgroupBarrier();
    let n = min(TILE, myEnd - min(myEnd, j0));`;
}

const DROP = /* wgsl */ `
fn keepDrop(bh: u32, i: u32, j: u32) -> bool {
  let idx = (bh * P[2] + i) * P[3] + j;
  return uniform_at(P[9], idx) >= pf(7u);
}`;

/** Forward: out (B, Tq, H, D) contiguous and lse (B, H, Tq). */
export function attentionForward(ctx: GpuKernelContext, [q, k, v]: readonly View[], dtype: DType, s: AttentionShape): void {
  const D = s.D;
  const TILE = tileFor(ctx.caps, 2 * D, 0);
  const qkv = qkvBinding(q!, k!, v!, dtype);
  const code = cachedSource(`attention:${dtype}:${D}:${TILE}:${qkv.shared}`, () => `${header([...qkv.decls, { name: 'o', dtype, write: true }, { name: 'lse', dtype: 'float32', write: true }])}
${indexFn('qAt', COMMON)}
${indexFn('kAt', COMMON + 5)}
${indexFn('vAt', COMMON + 10)}
${DROP}
const D: u32 = ${D}u;
const TILE: u32 = ${TILE}u;
var<workgroup> ks: array<f32, ${TILE * D}>;
var<workgroup> vs: array<f32, ${TILE * D}>;
@compute @workgroup_size(${ROWS})
${QUERY_ROW_MAIN}
  var qr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  if (live) {
    for (var d = 0u; d < D; d++) { qr[d] = ${load(dtype, 'q[qAt(b, h, i, d)]')} * scale; acc[d] = 0.0; }
  }
  var m = -3.0e38;
  var total = 0.0;
${keyTiles(dtype, qkv)}
    for (var t = 0u; t < n; t++) {
      var sc = 0.0;
      for (var d = 0u; d < D; d++) { sc += qr[d] * ks[t * D + d]; }
      let mNew = max(m, sc);
      let corr = exp(m - mNew);
      let p = exp(sc - mNew);
      total = total * corr + p;
      var pa = p;
      if (P[10] != 0u) { pa = select(0.0, p * pf(8u), keepDrop(bh, i, j0 + t)); }
      for (var d = 0u; d < D; d++) { acc[d] = acc[d] * corr + pa * vs[t * D + d]; }
      m = mNew;
    }
    workgroupBarrier();
  }
  if (live) {
    let base = ((b * Tq + i) * P[1] + h) * D;
    for (var d = 0u; d < D; d++) { o[base + d] = ${store(dtype, 'acc[d] / total')}; }
    lse[bh * Tq + i] = m + log(total);
  }
}`);
  ctx.dispatch({
    code,
    bindings: [...qkv.bindings, { output: 0 }, { output: 1 }],
    params: [...commonParams(s), ...viewParams(q!), ...viewParams(k!), ...viewParams(v!)],
    workgroups: [Math.ceil(s.Tq / ROWS), s.B * s.H],
    ...keyWordsOf(s),
  });
}

/**
 * Where backward writes: element (b, t, h, d) of dQ at dqBase + (b·T + t)·rowStride + h·D + d, and
 * of dK and dV at dkBase / dvBase likewise. `packed`: all three in output 0 (the gradient of a
 * (B, T, 3C) projection: bases 0, C, 2C, row stride 3C); otherwise dQ is output 0 and dK, dV share
 * output 1.
 */
export interface GradientLayout {
  packed: boolean;
  dqBase: number;
  dkBase: number;
  dvBase: number;
  rowStride: number;
}

/**
 * Backward: inputs q, k, v, o (B, Tq, H, D) contiguous, lse (B, H, Tq), g (the gradient of o as a
 * (B, H, Tq, D) view); gradients written as `out` says, in the layout of the projection the heads
 * were split from, so they flow back without copies.
 */
export function attentionBackward(ctx: GpuKernelContext, [q, k, v, o, lse, g]: readonly View[], dtype: DType, s: AttentionShape, out: GradientLayout): void {
  const D = s.D;
  const views = [...viewParams(q!), ...viewParams(k!), ...viewParams(v!), ...viewParams(g!)];
  const params = [...commonParams(s), ...views, o!.offset, lse!.offset, out.dqBase, out.dkBase, out.dvBase, out.rowStride];
  const idx = `${indexFn('qAt', COMMON)}
${indexFn('kAt', COMMON + 5)}
${indexFn('vAt', COMMON + 10)}
${indexFn('gAt', COMMON + 15)}
${DROP}
const D: u32 = ${D}u;`;
  const oAt = COMMON + 20;
  const deltas = ctx.scratch(s.B * s.H * s.Tq * 4);
  const qkv = qkvBinding(q!, k!, v!, dtype);

  // 1. Dᵢ = dOᵢ·Oᵢ and dQ, one thread per query row
  const tq = tileFor(ctx.caps, 2 * D, 0);
  const dqCode = cachedSource(`attention.dq:${dtype}:${D}:${tq}:${qkv.shared}`, () => `${header([...qkv.decls, { name: 'o', dtype }, { name: 'lse', dtype: 'float32' }, { name: 'g', dtype }, { name: 'dq', dtype, write: true }, { name: 'delta', dtype: 'float32', write: true }])}
${idx}
const TILE: u32 = ${tq}u;
var<workgroup> ks: array<f32, ${tq * D}>;
var<workgroup> vs: array<f32, ${tq * D}>;
@compute @workgroup_size(${ROWS})
${QUERY_ROW_MAIN}
  var qr: array<f32, ${D}>;
  var gr: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  var di = 0.0;
  var li = 0.0;
  if (live) {
    let ob = P[${oAt}u] + ((b * Tq + i) * P[1] + h) * D;
    for (var d = 0u; d < D; d++) {
      qr[d] = ${load(dtype, 'q[qAt(b, h, i, d)]')} * scale;
      gr[d] = ${load(dtype, 'g[gAt(b, h, i, d)]')};
      di += gr[d] * ${load(dtype, 'o[ob + d]')};
      acc[d] = 0.0;
    }
    li = lse[P[${oAt + 1}u] + bh * Tq + i];
    delta[bh * Tq + i] = di;
  }
${keyTiles(dtype, qkv)}
    for (var t = 0u; t < n; t++) {
      var sc = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) { sc += qr[d] * ks[t * D + d]; dp += gr[d] * vs[t * D + d]; }
      let p = exp(sc - li);
      if (P[10] != 0u) { dp = select(0.0, dp * pf(8u), keepDrop(bh, i, j0 + t)); }
      let ds = p * (dp - di);
      for (var d = 0u; d < D; d++) { acc[d] += ds * ks[t * D + d]; }
    }
    workgroupBarrier();
  }
  if (live) {
    let base = P[${oAt + 2}u] + (b * Tq + i) * P[${oAt + 5}u] + h * D;
    for (var d = 0u; d < D; d++) { dq[base + d] = ${store(dtype, 'acc[d] * scale')}; }
  }
}`);
  ctx.dispatch({
    code: dqCode,
    bindings: [...qkv.bindings, { input: 3 }, { input: 4 }, { input: 5 }, { output: 0 }, { scratch: deltas }],
    params,
    workgroups: [Math.ceil(s.Tq / ROWS), s.B * s.H],
    ...keyWordsOf(s),
  });

  // 2. dK and dV, one thread per key row; queries, their gradients, lse and D stream through tiles
  const tk = tileFor(ctx.caps, 2 * D, 2);
  const dkvCode = cachedSource(`attention.dkv:${dtype}:${D}:${tk}:${qkv.shared}`, () => `${header([...qkv.decls, { name: 'lse', dtype: 'float32' }, { name: 'g', dtype }, { name: 'delta', dtype: 'float32', write: true }, { name: 'dkv', dtype, write: true }])}
${idx}
const TILE: u32 = ${tk}u;
var<workgroup> qs: array<f32, ${tk * D}>;
var<workgroup> gs: array<f32, ${tk * D}>;
var<workgroup> ls: array<f32, ${tk}>;
var<workgroup> ds_: array<f32, ${tk}>;
@compute @workgroup_size(${ROWS})
${HEAD_MAIN}
  let j = wid.x * ${ROWS}u + l;
  let live = j < Tk;
  var kr: array<f32, ${D}>;
  var vr: array<f32, ${D}>;
  var dka: array<f32, ${D}>;
  var dva: array<f32, ${D}>;
  if (live) {
    for (var d = 0u; d < D; d++) {
      kr[d] = ${load(dtype, `${qkv.k}[kAt(b, h, j, d)]`)};
      vr[d] = ${load(dtype, `${qkv.v}[vAt(b, h, j, d)]`)};
      dka[d] = 0.0;
      dva[d] = 0.0;
    }
  }
  // the first query that sees this workgroup's first key
  let firstKey = wid.x * ${ROWS}u;
  let iStart = select(0u, firstKey - off, firstKey > off);
  for (var i0 = (iStart / TILE) * TILE; i0 < Tq; i0 += TILE) {
    for (var e = l; e < TILE * D; e += ${ROWS}u) {
      let i = i0 + e / D;
      let d = e % D;
      if (i < Tq) { qs[e] = ${load(dtype, 'q[qAt(b, h, i, d)]')} * scale; gs[e] = ${load(dtype, 'g[gAt(b, h, i, d)]')}; }
    }
    for (var e = l; e < TILE; e += ${ROWS}u) {
      let i = i0 + e;
      if (i < Tq) { ls[e] = lse[P[${oAt + 1}u] + bh * Tq + i]; ds_[e] = delta[bh * Tq + i]; }
    }
    workgroupBarrier();
    if (live) {
      for (var t = 0u; t < TILE; t++) {
        let i = i0 + t;
        if (i >= Tq || i + off < j) { continue; }
        var sc = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < D; d++) { sc += qs[t * D + d] * kr[d]; dp += gs[t * D + d] * vr[d]; }
        let p = exp(sc - ls[t]);
        var pa = p;
        if (P[10] != 0u) {
          let keep = keepDrop(bh, i, j);
          pa = select(0.0, p * pf(8u), keep);
          dp = select(0.0, dp * pf(8u), keep);
        }
        let dsc = p * (dp - ds_[t]);
        for (var d = 0u; d < D; d++) { dva[d] += pa * gs[t * D + d]; dka[d] += dsc * qs[t * D + d]; }
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let row = (b * Tk + j) * P[${oAt + 5}u] + h * D;
    for (var d = 0u; d < D; d++) {
      dkv[P[${oAt + 3}u] + row + d] = ${store(dtype, 'dka[d]')};
      dkv[P[${oAt + 4}u] + row + d] = ${store(dtype, 'dva[d]')};
    }
  }
}`);
  ctx.dispatch({
    code: dkvCode,
    bindings: [...qkv.bindings, { input: 4 }, { input: 5 }, { scratch: deltas }, { output: out.packed ? 0 : 1 }],
    params,
    workgroups: [Math.ceil(s.Tk / ROWS), s.B * s.H],
    ...keyWordsOf(s),
  });
}
