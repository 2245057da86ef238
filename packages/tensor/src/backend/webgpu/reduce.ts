/**
 * GPU reductions over any set of dims of a strided view. The view is split into kept dims (one
 * output each) and reduced dims; when the reduced elements are adjacent in memory a 256-thread
 * workgroup reduces one output through shared memory, otherwise each thread walks one output's
 * elements (coalesced across neighbouring outputs).
 */
import type { DType } from '../../dtype.ts';
import { collapse, numel } from '../../shape.ts';
import type { GpuKernelContext, OutputSpec, View } from '../types.ts';
import { computeType, entry, header, literal, load, store } from './codegen.ts';

export type GpuReduceKind = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

function init(kind: GpuReduceKind, dtype: DType): string {
  if (kind === 'sum') return literal(dtype, 0);
  const big = kind === 'max' || kind === 'argmax' ? -Infinity : Infinity;
  return computeType(dtype) === 'i32' ? literal('int32', big < 0 ? -2147483648 : 2147483647) : literal(dtype, big);
}

/** Reduce `x` over `dims` into `out` (keepdim order); arg kinds write int32 indices along the single dim. */
export function reduceGpu(ctx: GpuKernelContext, x: View, dims: readonly number[], out: OutputSpec, kind: GpuReduceKind): void {
  const nOut = numel(out.shape);
  if (nOut === 0) return;
  const kept = x.shape.map((_, d) => d).filter((d) => !dims.includes(d));
  const keptC = collapse(kept.map((d) => x.shape[d]!), [kept.map((d) => x.strides[d]!)]);
  const redC = collapse(dims.map((d) => x.shape[d]!), [dims.map((d) => x.strides[d]!)]);
  const R = numel(dims.map((d) => x.shape[d]!));
  const kRank = keptC.dims.length, rRank = redC.dims.length;
  // params: [nOut, R, kRank, rRank, offset, keptShape…, keptStrides…, redShape…, redStrides…]
  const params = [nOut, R, kRank, rRank, x.offset, ...keptC.dims, ...keptC.strideSets[0]!, ...redC.dims, ...redC.strideSets[0]!];
  const kShape = 5, kStr = 5 + kRank, rShape = kStr + kRank, rStr = rShape + rRank;
  const isArg = kind === 'argmax' || kind === 'argmin';
  const t = computeType(x.dtype);
  const better = kind === 'max' || kind === 'argmax' ? '>' : '<';
  const combine = (acc: string, v: string) => (kind === 'sum' ? `${acc} + ${v}` : kind === 'max' ? `max(${acc}, ${v})` : `min(${acc}, ${v})`);
  const helpers = `
fn walk(i: u32, shapeAt: u32, strideAt: u32, rank: u32) -> u32 {
  var rem = i; var off = 0u;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = P[shapeAt + u32(d)];
    off += (rem % s) * P[strideAt + u32(d)];
    rem = rem / s;
  }
  return off;
}`;
  const innerContiguous = rRank > 0 && redC.strideSets[0]![rRank - 1] === 1;
  const perWorkgroup = innerContiguous || nOut < 2048;
  const outDtype = out.dtype;
  const bindings = [{ name: 'x', dtype: x.dtype }, { name: 'out', dtype: outDtype, write: true }];
  const elem = (r: string) => load(x.dtype, `x[base + walk(${r}, ${rShape}u, ${rStr}u, P[3])]`);
  let code: string;
  if (perWorkgroup) {
    const shared = isArg ? `var<workgroup> sv: array<${t}, 256>;\nvar<workgroup> si: array<u32, 256>;` : `var<workgroup> sv: array<${t}, 256>;`;
    const step = isArg
      ? `    let v = ${elem('r')};
    if (v ${better} acc || (v == acc && r < best)) { acc = v; best = r; }`
      : `    acc = ${combine('acc', elem('r'))};`;
    const merge = isArg
      ? `      let v = sv[l + s]; let j = si[l + s];
      if (v ${better} sv[l] || (v == sv[l] && j < si[l])) { sv[l] = v; si[l] = j; }`
      : `      sv[l] = ${combine('sv[l]', 'sv[l + s]')};`;
    code = `${header(bindings)}${helpers}
${shared}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let o = wid.x + wid.y * nwg.x;
  if (o >= P[0]) { return; }
  let base = P[4] + walk(o, ${kShape}u, ${kStr}u, P[2]);
  var acc = ${init(kind, x.dtype)};
  var best = 0xffffffffu;
  for (var r = l; r < P[1]; r += 256u) {
${step}
  }
  sv[l] = acc;${isArg ? '\n  si[l] = best;' : ''}
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (l < s) {
${merge}
    }
    workgroupBarrier();
  }
  if (l == 0u) { out[o] = ${store(outDtype, isArg ? 'i32(si[0])' : 'sv[0]')}; }
}`;
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params, workgroups: { threads: nOut, size: 1 } });
    return;
  }
  const step = isArg
    ? `    let v = ${elem('r')};
    if (v ${better} acc) { acc = v; best = r; }`
    : `    acc = ${combine('acc', elem('r'))};`;
  code = `${header(bindings)}${helpers}
${entry(`  if (i >= P[0]) { return; }
  let base = P[4] + walk(i, ${kShape}u, ${kStr}u, P[2]);
  var acc = ${init(kind, x.dtype)};
  var best = 0u;
  for (var r = 0u; r < P[1]; r++) {
${step}
  }
  out[i] = ${store(outDtype, isArg ? 'i32(best)' : 'acc')};`)}`;
  ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params, workgroups: { threads: nOut, size: 256 } });
}
