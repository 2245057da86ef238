/**
 * GPU reductions over any set of dims of a strided view. The view is split into kept dims (one
 * output each) and reduced dims; when the reduced elements are adjacent in memory a 256-thread
 * workgroup reduces one output through shared memory, otherwise each thread walks one output's
 * elements (coalesced across neighbouring outputs).
 */
import type { DType } from '../../dtype.ts';
import { collapse, numel } from '../../shape.ts';
import type { GpuKernelContext, OutputSpec, View } from '../types.ts';
import { cachedSource, computeType, entry, header, literal, load, store } from './codegen.ts';

export type GpuReduceKind = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

function init(kind: GpuReduceKind, dtype: DType): string {
  if (kind === 'sum') return literal(dtype, 0);
  const big = kind === 'max' || kind === 'argmax' ? -Infinity : Infinity;
  return computeType(dtype) === 'i32' ? literal('int32', big < 0 ? -2147483648 : 2147483647) : literal(dtype, big);
}

/** Elements one workgroup folds in a pass of a long reduction: 256 threads × 16 each. */
const CHUNK = 4096;

interface ChunkedReduce {
  x: View;
  out: OutputSpec;
  kind: 'sum' | 'max' | 'min';
  params: number[];
  /** WGSL offset of reduced element `r` from an output's base. */
  elemAt: (r: string) => string;
  /** WGSL offset of output `o`'s first element. */
  baseOf: string;
  helpers: string;
  nOut: number;
  R: number;
}

/**
 * A long reduction (R > CHUNK) in passes: each workgroup folds CHUNK elements of one output (16
 * per thread, then a tree in shared memory) into a float32 partial; the next pass folds the
 * partials the same way, until one value per output is left. Every value passes through at most
 * ~24 additions per level and log_4096(R) levels, so sums stay accurate (a single loop per thread
 * over 10^8 elements does not), and the whole GPU takes part instead of one workgroup per output.
 */
function reduceInChunks(ctx: GpuKernelContext, c: ChunkedReduce): void {
  const combine = (acc: string, v: string) => (c.kind === 'sum' ? `${acc} + ${v}` : `${c.kind}(${acc}, ${v})`);
  // integers fold exactly in i32, floats (float16 included) in f32
  const part: DType = computeType(c.x.dtype) === 'i32' ? 'int32' : 'float32';
  const pass = (src: 'x' | 'partials', write: DType, chunksAt: number, base: string, elem: (r: string) => string, helpers: string) => cachedSource(`reduce.chunks:${src}:${c.kind}:${src === 'x' ? c.x.dtype : part}:${write}:${chunksAt}:${base}:${elem('r')}`, () => `${header([{ name: 'x', dtype: src === 'x' ? c.x.dtype : part, write: src !== 'x' }, { name: 'out', dtype: write, write: true }])}${helpers}
var<workgroup> sv: array<${computeType(part)}, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let g = wid.x + wid.y * nwg.x;
  let chunks = P[${chunksAt}u];
  if (g >= P[0] * chunks) { return; }
  let o = g / chunks;
  let base = ${base};
  var acc = ${init(c.kind, part)};
  for (var k = 0u; k < 16u; k++) {
    let r = (g % chunks) * ${CHUNK}u + k * 256u + l;
    if (r < P[1]) { acc = ${combine('acc', elem('r'))}; }
  }
  sv[l] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (l < s) { sv[l] = ${combine('sv[l]', 'sv[l + s]')}; }
    workgroupBarrier();
  }
  if (l == 0u) { out[g] = ${store(write, 'sv[0]')}; }
}`);
  // first pass: the strided input into partials [nOut, chunks] (R > CHUNK, so at least two)
  let chunks = Math.ceil(c.R / CHUNK);
  let partials = ctx.scratch(c.nOut * chunks * 4);
  ctx.dispatch({
    code: pass('x', part, c.params.length, c.baseOf, (r) => load(c.x.dtype, `x[base + ${c.elemAt(r)}]`), c.helpers),
    bindings: [{ input: 0 }, { scratch: partials }],
    params: [...c.params, chunks],
    workgroups: { threads: c.nOut * chunks, size: 1 },
  });
  // further passes: contiguous partials [nOut, length] into [nOut, chunks], the last into out
  while (chunks > 1) {
    const length = chunks;
    chunks = Math.ceil(length / CHUNK);
    const final = chunks === 1;
    const next = final ? -1 : ctx.scratch(c.nOut * chunks * 4);
    ctx.dispatch({
      code: pass('partials', final ? c.out.dtype : part, 2, 'o * P[1]', (r) => `x[base + ${r}]`, ''),
      bindings: [{ scratch: partials }, final ? { output: 0 } : { scratch: next }],
      params: [c.nOut, length, chunks],
      workgroups: { threads: c.nOut * chunks, size: 1 },
    });
    partials = next;
  }
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
  if (!isArg && R > CHUNK) {
    reduceInChunks(ctx, { x, out, kind, params, elemAt: (r) => `walk(${r}, ${rShape}u, ${rStr}u, P[3])`, baseOf: `P[4] + walk(o, ${kShape}u, ${kStr}u, P[2])`, helpers, nOut, R });
    return;
  }
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
    code = cachedSource(`reduce.rows:${kind}:${x.dtype}:${outDtype}:${kRank}:${rRank}`, () => `${header(bindings)}${helpers}
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
}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params, workgroups: { threads: nOut, size: 1 } });
    return;
  }
  const step = isArg
    ? `    let v = ${elem('r')};
    if (v ${better} acc) { acc = v; best = r; }`
    : `    acc = ${combine('acc', elem('r'))};`;
  code = cachedSource(`reduce.threads:${kind}:${x.dtype}:${outDtype}:${kRank}:${rRank}`, () => `${header(bindings)}${helpers}
${entry(`  if (i >= P[0]) { return; }
  let base = P[4] + walk(i, ${kShape}u, ${kStr}u, P[2]);
  var acc = ${init(kind, x.dtype)};
  var best = 0u;
  for (var r = 0u; r < P[1]; r++) {
${step}
  }
  out[i] = ${store(outDtype, isArg ? 'i32(best)' : 'acc')};`)}`);
  ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params, workgroups: { threads: nOut, size: 256 } });
}
