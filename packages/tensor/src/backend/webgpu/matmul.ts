/**
 * Batched float matmul on the GPU: 64×64 output tiles per 256-thread workgroup, K in steps of
 * 16 through shared memory, each thread accumulating a 4×4 register block. Operands are read
 * through their strides (a transposed operand costs no copy); batch dims broadcast by stride 0.
 */
import { setting } from '../../env/env.ts';
import type { DType } from '../../dtype.ts';
import type { GpuBindingRef, GpuKernelContext, OutputSpec, View } from '../types.ts';
import { geluWgsl, header, load, store, cachedSource, storageBuffers } from './codegen.ts';

const BM = 64, BN = 64, BK = 16;

/** Both kernels start by finding this workgroup's batch and the element offsets of A and B in it. */
const BATCH_OFFSETS = `  let M = P[0]; let N = P[1]; let K = P[2]; let batchRank = P[3];
  let batch = wid.z + P[10];
  var rem = batch; var aOff = P[4]; var bOff = P[7];
  for (var d = i32(batchRank) - 1; d >= 0; d--) {
    let s = P[11u + u32(d)];
    let c = rem % s;
    rem = rem / s;
    aOff += c * P[11u + batchRank + u32(d)];
    bOff += c * P[11u + 2u * batchRank + u32(d)];
  }`;

/**
 * What a kernel writes besides C: nothing; the row sums of A as output 1 (a Linear's bias gradient
 * beside its weight gradient); or GELU applied to C (exact or tanh) with the pre-activation as
 * output 1 (kept for backward).
 */
type Extra = 'none' | 'rowSums' | 'gelu' | 'gelu-tanh';

/** The store of one C element `value` at `at`: with a GELU extra, H gets the value and C its GELU. */
function storeC(extra: Extra, outType: DType, at: string, value: string): string {
  if (extra !== 'gelu' && extra !== 'gelu-tanh') return `C[${at}] = ${store(outType, value)};`;
  return `let pre = ${value}; H[${at}] = ${store(outType, 'pre')}; C[${at}] = ${store(outType, geluWgsl('pre', extra === 'gelu-tanh'))};`;
}

/** The second output's declaration, if any. */
function extraOutput(extra: Extra, outType: DType): { name: string; dtype: DType; write: true }[] {
  if (extra === 'rowSums') return [{ name: 'D', dtype: outType, write: true }];
  if (extra === 'gelu' || extra === 'gelu-tanh') return [{ name: 'H', dtype: outType, write: true }];
  return [];
}

function code(aType: DType, bType: DType, outType: DType, biasType: DType | undefined, extra: Extra): string {
  return cachedSource(`matmul:${aType}:${bType}:${outType}:${biasType ?? ''}:${extra}`, () => genericCode(aType, bType, outType, biasType, extra));
}

/**
 * The 64×64 kernel; with `biasType`, a bias vector (over N) is added as C is stored (a Linear in one
 * dispatch); with `rowSums`, the workgroups of the first column of tiles also write D[m] = Σₖ A[m, k]
 * from the A tiles they load anyway (a Linear's bias gradient beside its weight gradient).
 */
function genericCode(aType: DType, bType: DType, outType: DType, biasType: DType | undefined, extra: Extra): string {
  const bias = biasType !== undefined;
  const rowSums = extra === 'rowSums';
  // the row sums: one thread per 4 rows (lid.x == 0) in the first column of tiles
  const sums = !rowSums ? { declare: '', add: '', store: '' } : {
    declare: '  var rs: array<f32, 4>;\n  let summing = wid.x == 0u && lid.x == 0u;\n',
    add: '      if (summing) { for (var t = 0u; t < 4u; t++) { rs[t] += a[t]; } }\n',
    store: `  if (summing) { for (var t = 0u; t < 4u; t++) { let r = row0 + lid.y + 16u * t; if (r < M) { D[r] = ${store(outType, 'rs[t]')}; } } }\n`,
  };
  return `${header([{ name: 'A', dtype: aType }, { name: 'B', dtype: bType }, ...(bias ? [{ name: 'bias', dtype: biasType }] : []), { name: 'C', dtype: outType, write: true }, ...extraOutput(extra, outType)])}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) l: u32) {
${BATCH_OFFSETS}
  let aRs = P[5]; let aCs = P[6]; let bRs = P[8]; let bCs = P[9];
  let row0 = wid.y * ${BM}u; let col0 = wid.x * ${BN}u;
  var acc: array<array<f32, 4>, 4>;
${sums.declare}  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
    for (var q = 0u; q < 4u; q++) {
      let e = l + 256u * q;
      // A tile: e -> (m = e / 16, k = e % 16), stored k-major
      let am = row0 + e / ${BK}u; let ak = k0 + e % ${BK}u;
      var av = 0.0;
      if (am < M && ak < K) { av = ${load(aType, 'A[aOff + am * aRs + ak * aCs]')}; }
      As[(e % ${BK}u) * ${BM}u + e / ${BK}u] = av;
      // B tile: e -> (k = e / 64, n = e % 64)
      let bk = k0 + e / ${BN}u; let bn = col0 + e % ${BN}u;
      var bv = 0.0;
      if (bk < K && bn < N) { bv = ${load(bType, 'B[bOff + bk * bRs + bn * bCs]')}; }
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < ${BK}u; k++) {
      var a: array<f32, 4>; var b: array<f32, 4>;
      for (var t = 0u; t < 4u; t++) {
        a[t] = As[k * ${BM}u + lid.y + 16u * t];
        b[t] = Bs[k * ${BN}u + lid.x + 16u * t];
      }
${sums.add}      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  let cBase = batch * M * N;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y + 16u * i;
    if (r >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x + 16u * j;
      if (c < N) { ${storeC(extra, outType, 'cBase + r * N + c', bias ? `acc[i][j] + ${load(biasType, 'bias[P[11u + 3u * P[3]] + c]')}` : 'acc[i][j]')} }
    }
  }
${sums.store}}`;
}

/**
 * The large-tile kernel: 128×128 outputs per 256-thread workgroup, 8×8 per thread held as vec4s,
 * K in steps of 8 through shared memory, operands read as vec4: A with K innermost or transposed
 * (M innermost); B with N innermost or transposed (K innermost: a Linear's Wᵀ, the lm_head's
 * embeddingᵀ). Each operand is bound twice, as f32 and as vec4<f32>, so tiles at the matrix edges
 * can be read element by element. Needs float32 and 4-aligned strides. `bias` adds a vector over N as
 * C is stored; `rowSums` also writes D[m] = Σₖ A[m, k], as the 64×64 kernel does.
 */
interface BigTileLayout {
  aTransposed: boolean;
  bTransposed: boolean;
  bias: boolean;
  extra: Extra;
}

const EXTRAS: readonly Extra[] = ['none', 'rowSums', 'gelu', 'gelu-tanh'];
/** The large-tile sources by layout (index: aTransposed, bTransposed, bias, extra as bits): no key string per product. */
const bigTileSources: (string | undefined)[] = [];

function bigTileCode(aTransposed: boolean, bTransposed: boolean, bias: boolean, extra: Extra): string {
  const index = (aTransposed ? 1 : 0) | (bTransposed ? 2 : 0) | (bias ? 4 : 0) | (EXTRAS.indexOf(extra) << 3);
  return (bigTileSources[index] ??= bigTileSource({ aTransposed, bTransposed, bias, extra }));
}

/**
 * WGSL setting `v` to the 4 consecutive elements from `inner` of line `outer` (which starts at
 * `lineStart`) of matrix `m`: one vec4 load from `m`4 when all four are inside, else one at a time,
 * zeros past `innerEnd` or for a line past `outerEnd`.
 */
function fetchRun(m: 'A' | 'B', outer: string, outerEnd: string, lineStart: string, inner: string, innerEnd: string): string {
  return `      var v = vec4<f32>(0.0);
      if (${outer} < ${outerEnd} && ${inner} + 3u < ${innerEnd}) { v = ${m}4[(${lineStart} + ${inner}) / 4u]; }
      else if (${outer} < ${outerEnd}) { for (var q = 0u; q < 4u; q++) { if (${inner} + q < ${innerEnd}) { v[q] = ${m}[${lineStart} + ${inner} + q]; } } }`;
}

function bigTileSource({ aTransposed, bTransposed, bias, extra }: BigTileLayout): string {
  const rowSums = extra === 'rowSums';
  // the row sums: one thread per 8 rows (tx == 0) in the first column of tiles
  const sums = !rowSums ? { declare: '', add: '', store: '' } : {
    declare: '  var rs: array<f32, 8>;\n  let summing = wid.x == 0u && tx == 0u;\n',
    add: '        if (summing) { rs[i] += As[k * 128u + ty * 8u + i]; }\n',
    store: '  if (summing) { for (var i = 0u; i < 8u; i++) { let r = row0 + ty * 8u + i; if (r < M) { D[r] = rs[i]; } } }\n',
  };
  const loadA = aTransposed
    ? `    {
      // stored A^T: row k holds the M values contiguously; one vec4 of 4 consecutive m per thread
      let kk = l / 32u; let mm = (l % 32u) * 4u;
      let gk = k0 + kk; let gm = row0 + mm;
${fetchRun('A', 'gk', 'K', 'aOff + gk * aCs', 'gm', 'M')}
      As[kk * 128u + mm] = v.x; As[kk * 128u + mm + 1u] = v.y; As[kk * 128u + mm + 2u] = v.z; As[kk * 128u + mm + 3u] = v.w;
    }`
    : `    {
      // one vec4 of 4 consecutive k of one row per thread, stored k-major
      let mm = l / 2u; let kk = (l % 2u) * 4u;
      let gm = row0 + mm; let gk = k0 + kk;
${fetchRun('A', 'gm', 'M', 'aOff + gm * aRs', 'gk', 'K')}
      As[kk * 128u + mm] = v.x; As[(kk + 1u) * 128u + mm] = v.y; As[(kk + 2u) * 128u + mm] = v.z; As[(kk + 3u) * 128u + mm] = v.w;
    }`;
  const loadB = bTransposed
    ? `    {
      // stored B^T (row n holds K values): one vec4 of 4 consecutive k of one n per thread
      let nn = l / 2u; let kk = (l % 2u) * 4u;
      let gn = col0 + nn; let gk = k0 + kk;
${fetchRun('B', 'gn', 'N', 'bOff + gn * bCs', 'gk', 'K')}
      for (var q = 0u; q < 4u; q++) { Bs[(kk + q) * 32u + nn / 4u][nn % 4u] = v[q]; }
    }`
    : `    {
      // B: row kk of the tile is 128 consecutive n = 32 vec4; one vec4 per thread
      let kk = l / 32u; let nn = (l % 32u) * 4u;
      let gk = k0 + kk; let gn = col0 + nn;
${fetchRun('B', 'gk', 'K', 'bOff + gk * bRs', 'gn', 'N')}
      Bs[kk * 32u + nn / 4u] = v;
    }`;
  const f32: DType = 'float32';
  const head = header([{ name: 'A', dtype: f32 }, { name: 'A4', dtype: f32 }, { name: 'B', dtype: f32 }, { name: 'B4', dtype: f32 }, ...(bias ? [{ name: 'bias', dtype: f32 }] : []), { name: 'C', dtype: f32, write: true }, ...extraOutput(extra, f32)])
    .replace('var<storage, read> A4: array<f32>', 'var<storage, read> A4: array<vec4<f32>>')
    .replace('var<storage, read> B4: array<f32>', 'var<storage, read> B4: array<vec4<f32>>');
  return `${head}
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<vec4<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
${BATCH_OFFSETS}
  let aRs = P[5]; let aCs = P[6]; let bRs = P[8]; let bCs = P[9];
  let row0 = wid.y * 128u; let col0 = wid.x * 128u;
  let tx = l % 16u; let ty = l / 16u;
  var acc: array<vec4<f32>, 16>;
${sums.declare}  for (var k0 = 0u; k0 < K; k0 += 8u) {
${loadA}
${loadB}
    workgroupBarrier();
    for (var k = 0u; k < 8u; k++) {
      let b0 = Bs[k * 32u + tx * 2u];
      let b1 = Bs[k * 32u + tx * 2u + 1u];
      for (var i = 0u; i < 8u; i++) {
        let a = vec4<f32>(As[k * 128u + ty * 8u + i]);
        acc[i * 2u] = fma(a, b0, acc[i * 2u]);
        acc[i * 2u + 1u] = fma(a, b1, acc[i * 2u + 1u]);
${sums.add}      }
    }
    workgroupBarrier();
  }
  let cBase = batch * M * N;
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + ty * 8u + i;
    if (r >= M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      let c = col0 + tx * 8u + h * 4u;
      let v = acc[i * 2u + h];
      for (var q = 0u; q < 4u; q++) { if (c + q < N) { ${storeC(extra, f32, 'cBase + r * N + c + q', `v[q]${bias ? ' + bias[P[11u + 3u * P[3]] + c + q]' : ''}`)} } }
    }
  }
${sums.store}}`;
}

/** Whether the large-tile kernel applies (float32, big enough, vec4-aligned layouts), and with which operand layouts. */
function bigTileFits(a: View, b: View, out: OutputSpec, batch: readonly number[], M: number, N: number, K: number, bias?: View): { aTransposed: boolean; bTransposed: boolean } | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || out.dtype !== 'float32' || (bias !== undefined && bias.dtype !== 'float32')) return null;
  if (M < 64 || N < 64 || K < 16) return null;
  if (gpuMatmulKernel() === 'generic') return null;
  const r = batch.length;
  const aRs = a.strides[r]!, aCs = a.strides[r + 1]!, bRs = b.strides[r]!, bCs = b.strides[r + 1]!;
  if (b.offset % 4 !== 0 || a.offset % 4 !== 0) return null;
  for (let d = 0; d < r; d++) if (a.strides[d]! % 4 !== 0 || b.strides[d]! % 4 !== 0) return null;
  const bTransposed = bCs === 1 && bRs % 4 === 0 ? false : bRs === 1 && bCs % 4 === 0 ? true : null;
  const aTransposed = aCs === 1 && aRs % 4 === 0 ? false : aRs === 1 && aCs % 4 === 0 ? true : null;
  return aTransposed === null || bTransposed === null ? null : { aTransposed, bTransposed };
}

let kernelChoice: 'auto' | 'generic' | undefined;

/** Which matmul kernels products may take: 'auto' (the large tile where it fits) or 'generic' (LLMTS_GPU_MATMUL=generic). */
function gpuMatmulKernel(): 'auto' | 'generic' {
  kernelChoice ??= setting('LLMTS_GPU_MATMUL') === 'generic' ? 'generic' : 'auto';
  return kernelChoice;
}

/**
 * Make every GPU product take the generic 64×64 kernel ('generic') or the large tile where it fits
 * ('auto'); without an argument, back to LLMTS_GPU_MATMUL (read at the first product). Benchmarks
 * compare the kernels with it.
 */
export function setGpuMatmulKernel(kind?: 'auto' | 'generic'): void {
  kernelChoice = kind;
}

/** Which GPU kernel a product of these views takes: 'large' (128×128 tiles) or 'generic' (64×64). */
export function matmulTile(a: View, b: View, batch: readonly number[], M: number, N: number, K: number): 'large' | 'generic' {
  return bigTileFits(a, b, { shape: [...batch, M, N], dtype: a.dtype }, batch, M, N, K) ? 'large' : 'generic';
}

/** What a product adds as it stores C (see Extra). */
export interface MatmulEpilogue {
  /** A vector over N added to C. */
  bias?: View;
  /** Output 1: D[m] = Σₖ A[m, k] (one matrix, no batch). */
  rowSums?: boolean;
  /** C = GELU(A·B + bias), exact or tanh, with the pre-activation as output 1. */
  gelu?: 'exact' | 'tanh';
}

/**
 * The bindings of a product, by kernel (bit 0: the large tile binds each operand twice, as f32 and
 * vec4), bias (bit 1) and a second output (bit 2).
 */
const BINDINGS: readonly (readonly GpuBindingRef[])[] = Array.from({ length: 8 }, (_, k) => {
  const operands: GpuBindingRef[] = k & 1 ? [{ input: 0 }, { input: 0 }, { input: 1 }, { input: 1 }] : [{ input: 0 }, { input: 1 }];
  return [...operands, ...(k & 2 ? [{ input: 2 }] : []), { output: 0 }, ...(k & 4 ? [{ output: 1 }] : [])];
});

/** C[...batch, M, N] = A[...batch, M, K] · B[...batch, K, N] (views already broadcast over batch), with an epilogue. */
export function matmulGpu(ctx: GpuKernelContext, a: View, b: View, out: OutputSpec, batch: readonly number[], M: number, N: number, K: number, e: MatmulEpilogue = {}): void {
  const { bias, rowSums = false } = e;
  const extra: Extra = rowSums ? 'rowSums' : e.gelu === 'exact' ? 'gelu' : e.gelu === 'tanh' ? 'gelu-tanh' : 'none';
  if (rowSums && e.gelu !== undefined) throw new Error('matmul: row sums and a GELU epilogue both use output 1');
  const r = batch.length;
  const total = batch.reduce((x, y) => x * y, 1);
  if (rowSums && r > 0) throw new Error('matmul: row sums are computed for one matrix, not a batch');
  if (total === 0 || M === 0 || N === 0) {
    if (rowSums && M > 0) ctx.clearOutput(1); // nothing to sum: zeros
    return;
  }
  let big = bigTileFits(a, b, out, batch, M, N, K, bias);
  let bindings = BINDINGS[(big ? 1 : 0) | (bias ? 2 : 0) | (extra === 'none' ? 0 : 4)]!;
  if (big && storageBuffers(ctx, bindings) > ctx.caps.maxStorageBuffers) {
    // the large tile binds A and B twice: with operands bound in windows that can pass the device's
    // storage buffers (GPT-2's tied lm_head on a device at 8), where the generic kernel still fits
    big = null;
    bindings = BINDINGS[(bias ? 2 : 0) | (extra === 'none' ? 0 : 4)]!;
  }
  const tile = big ? 128 : BM;
  const src = big ? bigTileCode(big.aTransposed, big.bTransposed, bias !== undefined, extra) : code(a.dtype, b.dtype, out.dtype, bias?.dtype, extra);
  // P: M N K rank, A's offset and strides, B's, the first batch, the batch dims, A's and B's batch strides, the bias offset
  const params = [M, N, K, r, a.offset, a.strides[r]!, a.strides[r + 1]!, b.offset, b.strides[r]!, b.strides[r + 1]!, 0];
  for (let d = 0; d < r; d++) params.push(batch[d]!);
  for (let d = 0; d < r; d++) params.push(a.strides[d]!);
  for (let d = 0; d < r; d++) params.push(b.strides[d]!);
  if (bias) params.push(bias.offset);
  const perDispatch = 65535;
  for (let start = 0; start < total; start += perDispatch) {
    params[10] = start;
    ctx.dispatch({ code: src, bindings, params, workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), Math.min(perDispatch, total - start)] });
  }
}
