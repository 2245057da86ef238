// Single-precision GEMM for the CPU backend: C[M,N] = A[M,K] · B[K,N] for strided A and B, batched.
// GotoBLAS structure: B is packed into KC×8 column panels, A into MC×KC blocks of 4-row panels,
// and a 4×8 SIMD micro-kernel (eight f32x4 accumulators) runs over the packed panels. Packing
// reads any strides, so transposed operands cost nothing extra. Work is split across threads by
// batch when there are enough batches, else by ranges of 8-column panels.

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 96;
const NC: i32 = 1024;

// Pack rows [pc, pc+kc) and columns [j0, j0+nc) of B into panels of NR columns (zero padded).
function packB(b: usize, bRs: i32, bCs: i32, pc: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  const panels = (nc + NR - 1) / NR;
  for (let jp = 0; jp < panels; jp++) {
    const jj = j0 + jp * NR;
    const nr = min(NR, j0 + nc - jj);
    let d = dst + <usize>(jp * kc * NR) * 4;
    if (nr == NR && bCs == 1) {
      let src = b + (<usize>pc * <usize>bRs + <usize>jj) * 4;
      const step = <usize>bRs * 4;
      for (let p = 0; p < kc; p++) {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        src += step;
        d += NR * 4;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const row = b + (<usize>(pc + p) * <usize>bRs + <usize>jj * <usize>bCs) * 4;
        for (let c = 0; c < nr; c++) store<f32>(d + <usize>c * 4, load<f32>(row + <usize>c * <usize>bCs * 4));
        for (let c = nr; c < NR; c++) store<f32>(d + <usize>c * 4, 0);
        d += NR * 4;
      }
    }
  }
}

// Pack rows [i0, i0+mc) and columns [pc, pc+kc) of A into panels of MR rows (zero padded).
function packA(a: usize, aRs: i32, aCs: i32, i0: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  const panels = (mc + MR - 1) / MR;
  for (let ip = 0; ip < panels; ip++) {
    const ii = i0 + ip * MR;
    const mr = min(MR, i0 + mc - ii);
    const d0 = dst + <usize>(ip * kc * MR) * 4;
    for (let r = 0; r < MR; r++) {
      let d = d0 + <usize>r * 4;
      if (r < mr) {
        let src = a + (<usize>(ii + r) * <usize>aRs + <usize>pc * <usize>aCs) * 4;
        const step = <usize>aCs * 4;
        for (let p = 0; p < kc; p++) {
          store<f32>(d, load<f32>(src));
          src += step;
          d += MR * 4;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          store<f32>(d, 0);
          d += MR * 4;
        }
      }
    }
  }
}

/** acc + a·b: one fused multiply-add where relaxed SIMD is enabled (kernels-fma.wasm), else mul + add. */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

// C tile (mr×nr at c, row stride ldc elements) (+)= packed A panel × packed B panel over kc.
// @ts-ignore: decorator
@inline function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, mr: i32, nr: i32, accumulate: bool, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += MR * 4;
    pb += NR * 4;
  }
  const row = <usize>ldc * 4;
  if (mr == MR && nr == NR) {
    let r0 = c, r1 = c + row, r2 = c + 2 * row, r3 = c + 3 * row;
    if (accumulate) {
      c00 = f32x4.add(c00, v128.load(r0)); c01 = f32x4.add(c01, v128.load(r0, 16));
      c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
      c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
      c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
    }
    v128.store(r0, c00); v128.store(r0, c01, 16);
    v128.store(r1, c10); v128.store(r1, c11, 16);
    v128.store(r2, c20); v128.store(r2, c21, 16);
    v128.store(r3, c30); v128.store(r3, c31, 16);
    return;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) {
      const at = c + <usize>r * row + <usize>j * 4;
      const v = load<f32>(tmp + <usize>(r * NR + j) * 4);
      store<f32>(at, accumulate ? load<f32>(at) + v : v);
    }
  }
}

// Products with fewer rows than a micro-tile (M < MR: generation with a KV cache, batch 1) skip
// packing, which would pad every panel to MR rows and copy all of B for one row of output.
// Transposed B (a Linear weight, or kᵀ): SIMD dot products along K. Row-major B: SIMD rows of C
// accumulate a[p]·B[p, :]. Returns false for layouts neither handles.
function smallM(a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32, c: usize, M: i32, N: i32, K: i32, n0: i32, n1: i32): bool {
  if (aCs == 1 && bRs == 1) {
    for (let i = 0; i < M; i++) {
      const aRow = a + <usize>i * <usize>aRs * 4;
      const cRow = c + <usize>i * <usize>N * 4;
      for (let j = n0; j < n1; j++) {
        const bCol = b + <usize>j * <usize>bCs * 4;
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let p = 0;
        for (; p + 16 <= K; p += 16) {
          const ap = aRow + <usize>p * 4, bp = bCol + <usize>p * 4;
          s0 = madd(v128.load(ap), v128.load(bp), s0);
          s1 = madd(v128.load(ap, 16), v128.load(bp, 16), s1);
          s2 = madd(v128.load(ap, 32), v128.load(bp, 32), s2);
          s3 = madd(v128.load(ap, 48), v128.load(bp, 48), s3);
        }
        for (; p + 4 <= K; p += 4) s0 = madd(v128.load(aRow + <usize>p * 4), v128.load(bCol + <usize>p * 4), s0);
        const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
        let sum = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
        for (; p < K; p++) sum += load<f32>(aRow + <usize>p * 4) * load<f32>(bCol + <usize>p * 4);
        store<f32>(cRow + <usize>j * 4, sum);
      }
    }
    return true;
  }
  if (bCs != 1) return false;
  for (let i = 0; i < M; i++) {
    const aRow = a + <usize>i * <usize>aRs * 4;
    const cRow = c + <usize>i * <usize>N * 4;
    let j = n0;
    for (; j + 16 <= n1; j += 16) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let bp = b + <usize>j * 4;
      const step = <usize>bRs * 4;
      for (let p = 0; p < K; p++) {
        const av = v128.load32_splat(aRow + <usize>p * <usize>aCs * 4);
        c0 = madd(av, v128.load(bp), c0);
        c1 = madd(av, v128.load(bp, 16), c1);
        c2 = madd(av, v128.load(bp, 32), c2);
        c3 = madd(av, v128.load(bp, 48), c3);
        bp += step;
      }
      const cp = cRow + <usize>j * 4;
      v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
    }
    for (; j + 4 <= n1; j += 4) {
      let c0 = f32x4.splat(0);
      let bp = b + <usize>j * 4;
      for (let p = 0; p < K; p++) {
        c0 = madd(v128.load32_splat(aRow + <usize>p * <usize>aCs * 4), v128.load(bp), c0);
        bp += <usize>bRs * 4;
      }
      v128.store(cRow + <usize>j * 4, c0);
    }
    for (; j < n1; j++) {
      let sum: f32 = 0;
      for (let p = 0; p < K; p++) sum += load<f32>(aRow + <usize>p * <usize>aCs * 4) * load<f32>(b + (<usize>p * <usize>bRs + <usize>j) * 4);
      store<f32>(cRow + <usize>j * 4, sum);
    }
  }
  return true;
}

// One product over columns [n0, n1) of one batch.
function gemmRange(a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32, c: usize, M: i32, N: i32, K: i32, n0: i32, n1: i32, packA_: usize, packB_: usize, tmp: usize): void {
  if (K == 0) {
    for (let i = 0; i < M; i++) memory.fill(c + (<usize>i * <usize>N + <usize>n0) * 4, 0, <usize>(n1 - n0) * 4);
    return;
  }
  if (M < MR && smallM(a, aRs, aCs, b, bRs, bCs, c, M, N, K, n0, n1)) return;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b, bRs, bCs, pc, kc, jc, nc, packB_);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a, aRs, aCs, ic, mc, pc, kc, packA_);
        const panelsN = (nc + NR - 1) / NR;
        const panelsM = (mc + MR - 1) / MR;
        for (let jp = 0; jp < panelsN; jp++) {
          const j = jc + jp * NR;
          const nr = min(NR, jc + nc - j);
          for (let ip = 0; ip < panelsM; ip++) {
            const i = ic + ip * MR;
            const mr = min(MR, ic + mc - i);
            micro(kc, packA_ + <usize>(ip * kc * MR) * 4, packB_ + <usize>(jp * kc * NR) * 4, c + (<usize>i * <usize>N + <usize>j) * 4, N, mr, nr, pc > 0, tmp);
          }
        }
      }
    }
  }
}

/** Bytes of packing scratch one thread needs. */
export function gemmScratchBytes(): i32 {
  return (MC + MR) * KC * 4 + (NC + NR) * KC * 4 + 128 * 4;
}

/**
 * Batched GEMM. `offsets` holds, per batch, the element offsets of A, B and C (three i32 each).
 * C is contiguous [batch, M, N]. Thread `tid` of `nt` does its share, packing into its own slice
 * of `scratchBase` (gemmScratchBytes() per thread).
 */
export function sgemm(a: usize, b: usize, c: usize, offsets: usize, batches: i32, M: i32, N: i32, K: i32, aRs: i32, aCs: i32, bRs: i32, bCs: i32, scratchBase: usize, tid: i32, nt: i32): void {
  const scratch = scratchBase + <usize>tid * <usize>gemmScratchBytes();
  const packA_ = scratch;
  const packB_ = scratch + <usize>((MC + MR) * KC * 4);
  const tmp = packB_ + <usize>((NC + NR) * KC * 4);
  if (batches >= nt) {
    for (let bi = tid; bi < batches; bi += nt) {
      const o = offsets + <usize>bi * 12;
      gemmRange(a + <usize>load<i32>(o) * 4, aRs, aCs, b + <usize>load<i32>(o, 4) * 4, bRs, bCs, c + <usize>load<i32>(o, 8) * 4, M, N, K, 0, N, packA_, packB_, tmp);
    }
    return;
  }
  if (M > N) {
    // split rows: each thread packs all of B (small when N is) and only its rows of A
    const blocks = (M + MR - 1) / MR;
    const per = (blocks + nt - 1) / nt;
    const m0 = min(M, tid * per * MR);
    const m1 = min(M, (tid + 1) * per * MR);
    if (m0 >= m1) return;
    for (let bi = 0; bi < batches; bi++) {
      const o = offsets + <usize>bi * 12;
      const aBase = a + (<usize>load<i32>(o) + <usize>m0 * <usize>aRs) * 4;
      const cBase = c + (<usize>load<i32>(o, 8) + <usize>m0 * <usize>N) * 4;
      gemmRange(aBase, aRs, aCs, b + <usize>load<i32>(o, 4) * 4, bRs, bCs, cBase, m1 - m0, N, K, 0, N, packA_, packB_, tmp);
    }
    return;
  }
  // split columns: each thread packs its own panels of B and all of A
  const panels = (N + NR - 1) / NR;
  const per = (panels + nt - 1) / nt;
  const n0 = min(N, tid * per * NR);
  const n1 = min(N, (tid + 1) * per * NR);
  if (n0 >= n1) return;
  for (let bi = 0; bi < batches; bi++) {
    const o = offsets + <usize>bi * 12;
    gemmRange(a + <usize>load<i32>(o) * 4, aRs, aCs, b + <usize>load<i32>(o, 4) * 4, bRs, bCs, c + <usize>load<i32>(o, 8) * 4, M, N, K, n0, n1, packA_, packB_, tmp);
  }
}
