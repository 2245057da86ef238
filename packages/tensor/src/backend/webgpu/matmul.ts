/**
 * Batched float matmul on the GPU: 64×64 output tiles per 256-thread workgroup, K in steps of
 * 16 through shared memory, each thread accumulating a 4×4 register block. Operands are read
 * through their strides (a transposed operand costs no copy); batch dims broadcast by stride 0.
 */
import type { DType } from '../../dtype.ts';
import type { GpuKernelContext, OutputSpec, View } from '../types.ts';
import { header, load, store } from './codegen.ts';

const BM = 64, BN = 64, BK = 16;

function code(aType: DType, bType: DType, outType: DType): string {
  return `${header([{ name: 'A', dtype: aType }, { name: 'B', dtype: bType }, { name: 'C', dtype: outType, write: true }])}
var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) l: u32) {
  let M = P[0]; let N = P[1]; let K = P[2]; let batchRank = P[3];
  let batch = wid.z + P[10];
  // batch offsets of A and B
  var rem = batch; var aOff = P[4]; var bOff = P[7];
  for (var d = i32(batchRank) - 1; d >= 0; d--) {
    let s = P[11u + u32(d)];
    let c = rem % s;
    rem = rem / s;
    aOff += c * P[11u + batchRank + u32(d)];
    bOff += c * P[11u + 2u * batchRank + u32(d)];
  }
  let aRs = P[5]; let aCs = P[6]; let bRs = P[8]; let bCs = P[9];
  let row0 = wid.y * ${BM}u; let col0 = wid.x * ${BN}u;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < K; k0 += ${BK}u) {
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
      for (var i = 0u; i < 4u; i++) {
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
      if (c < N) { C[cBase + r * N + c] = ${store(outType, 'acc[i][j]')}; }
    }
  }
}`;
}

/** C[...batch, M, N] = A[...batch, M, K] · B[...batch, K, N] (views already broadcast over batch). */
export function matmulGpu(ctx: GpuKernelContext, a: View, b: View, out: OutputSpec, batch: readonly number[], M: number, N: number, K: number): void {
  const r = batch.length;
  const total = batch.reduce((x, y) => x * y, 1);
  if (total === 0 || M === 0 || N === 0) return;
  const src = code(a.dtype, b.dtype, out.dtype);
  const base = [M, N, K, r, a.offset, a.strides[r]!, a.strides[r + 1]!, b.offset, b.strides[r]!, b.strides[r + 1]!];
  const tail = [...batch, ...a.strides.slice(0, r), ...b.strides.slice(0, r)];
  const perDispatch = 65535;
  for (let start = 0; start < total; start += perDispatch) {
    const count = Math.min(perDispatch, total - start);
    ctx.dispatch({
      code: src,
      bindings: [{ input: 0 }, { input: 1 }, { output: 0 }],
      params: [...base, start, ...tail],
      workgroups: [Math.ceil(N / BN), Math.ceil(M / BM), count],
    });
  }
}
