import type { TypedArray } from '../../dtype.ts';

/**
 * C[M,N] = A[M,K] · B[K,N] for strided A and B, into contiguous C (row stride ldc).
 * GotoBLAS structure in plain TypeScript: B is packed into KC×NR panels, A into MC×KC blocks of MR
 * rows, and a 4×4 register-blocked micro-kernel runs over the packed panels. Packing makes
 * transposed operands free and keeps the inner loop on contiguous memory.
 */
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;

let packA = new Float64Array(0);
let packB = new Float64Array(0);

export interface Operand {
  data: TypedArray;
  offset: number;
  rowStride: number;
  colStride: number;
}

export function gemm(M: number, N: number, K: number, A: Operand, B: Operand, C: TypedArray, cOff: number, ldc: number): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return;
  }
  const nPanels = Math.ceil(N / NR);
  const needB = nPanels * NR * Math.min(K, KC);
  if (packB.length < needB) packB = new Float64Array(needB);
  const needA = Math.ceil(Math.min(M, MC) / MR) * MR * Math.min(K, KC);
  if (packA.length < needA) packA = new Float64Array(needA);
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    packPanelsB(B, pc, kc, N, nPanels);
    for (let ic = 0; ic < M; ic += MC) {
      const mc = Math.min(MC, M - ic);
      const mPanels = Math.ceil(mc / MR);
      packPanelsA(A, ic, mc, pc, kc, mPanels);
      for (let jp = 0; jp < nPanels; jp++) {
        const j0 = jp * NR;
        const nr = Math.min(NR, N - j0);
        for (let ip = 0; ip < mPanels; ip++) {
          const i0 = ic + ip * MR;
          const mr = Math.min(MR, M - i0);
          micro(kc, ip * MR * kc, jp * NR * kc, C, cOff + i0 * ldc + j0, ldc, mr, nr, pc > 0);
        }
      }
    }
  }
}

function packPanelsB(B: Operand, pc: number, kc: number, N: number, nPanels: number): void {
  const { data, offset, rowStride, colStride } = B;
  for (let jp = 0; jp < nPanels; jp++) {
    const j0 = jp * NR;
    const nr = Math.min(NR, N - j0);
    let dst = jp * NR * kc;
    for (let p = 0; p < kc; p++, dst += NR) {
      const row = offset + (pc + p) * rowStride + j0 * colStride;
      for (let c = 0; c < nr; c++) packB[dst + c] = data[row + c * colStride]!;
      for (let c = nr; c < NR; c++) packB[dst + c] = 0;
    }
  }
}

function packPanelsA(A: Operand, ic: number, mc: number, pc: number, kc: number, mPanels: number): void {
  const { data, offset, rowStride, colStride } = A;
  for (let ip = 0; ip < mPanels; ip++) {
    const i0 = ic + ip * MR;
    const mr = Math.min(MR, ic + mc - i0);
    let dst = ip * MR * kc;
    for (let p = 0; p < kc; p++, dst += MR) {
      const col = offset + i0 * rowStride + (pc + p) * colStride;
      for (let r = 0; r < mr; r++) packA[dst + r] = data[col + r * rowStride]!;
      for (let r = mr; r < MR; r++) packA[dst + r] = 0;
    }
  }
}

function micro(kc: number, aBase: number, bBase: number, C: TypedArray, c0: number, ldc: number, mr: number, nr: number, accumulate: boolean): void {
  const a = packA, b = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ai = aBase, bi = bBase;
  for (let p = 0; p < kc; p++, ai += MR, bi += NR) {
    const a0 = a[ai]!, a1 = a[ai + 1]!, a2 = a[ai + 2]!, a3 = a[ai + 3]!;
    const b0 = b[bi]!, b1 = b[bi + 1]!, b2 = b[bi + 2]!, b3 = b[bi + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === MR && nr === NR) {
    if (accumulate) {
      C[c0] += c00; C[c0 + 1] += c01; C[c0 + 2] += c02; C[c0 + 3] += c03;
      let r = c0 + ldc;
      C[r] += c10; C[r + 1] += c11; C[r + 2] += c12; C[r + 3] += c13;
      r += ldc;
      C[r] += c20; C[r + 1] += c21; C[r + 2] += c22; C[r + 3] += c23;
      r += ldc;
      C[r] += c30; C[r + 1] += c31; C[r + 2] += c32; C[r + 3] += c33;
    } else {
      C[c0] = c00; C[c0 + 1] = c01; C[c0 + 2] = c02; C[c0 + 3] = c03;
      let r = c0 + ldc;
      C[r] = c10; C[r + 1] = c11; C[r + 2] = c12; C[r + 3] = c13;
      r += ldc;
      C[r] = c20; C[r + 1] = c21; C[r + 2] = c22; C[r + 3] = c23;
      r += ldc;
      C[r] = c30; C[r + 1] = c31; C[r + 2] = c32; C[r + 3] = c33;
    }
    return;
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < mr; r++) {
    for (let c = 0; c < nr; c++) {
      const at = c0 + r * ldc + c;
      C[at] = (accumulate ? C[at]! : 0) + tile[r * NR + c]!;
    }
  }
}
