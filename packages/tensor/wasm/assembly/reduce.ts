// Sums over a contiguous block of dims: x viewed as [outer, R, inner], out [outer, inner].
// Covers row sums (inner = 1) and column sums such as bias gradients (outer = 1).

// Accuracy: every float32 value is widened and added in float64 (two-lane SIMD), and the sum is
// rounded to float32 once, so a sum of 1e8 ones is exact and 1e6 × 0.1 is right to the last bit
// or so (a float32 accumulator stalls at 2^24 and drifts on long rows and columns). The kernel is
// bound by memory bandwidth for large inputs, so the wider adds cost next to nothing.

/** The low two lanes of a float32×4 as float64×2. */
@inline function lo(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

/** The high two lanes of a float32×4 as float64×2. */
@inline function hi(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1));
}

/** Four float32 lanes from two float64×2 halves. */
@inline function narrow(a: v128, b: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

@inline function total(a: v128): f64 {
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/** Column sums are split over `inner` across threads; other sums over `outer`. */
export function sumF32(x: usize, out: usize, outer: i32, R: i32, inner: i32, tid: i32, nt: i32): void {
  if (inner == 1) {
    const per = (outer + nt - 1) / nt;
    const o1 = min(outer, (tid + 1) * per);
    for (let o = tid * per; o < o1; o++) {
      const row = x + <usize>o * <usize>R * 4;
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      let r = 0;
      for (; r + 8 <= R; r += 8) {
        const v = v128.load(row + <usize>r * 4), w = v128.load(row + <usize>r * 4, 16);
        a0 = f64x2.add(a0, lo(v));
        a1 = f64x2.add(a1, hi(v));
        a2 = f64x2.add(a2, lo(w));
        a3 = f64x2.add(a3, hi(w));
      }
      let s: f64 = total(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
      for (; r < R; r++) s += <f64>load<f32>(row + <usize>r * 4);
      store<f32>(out + <usize>o * 4, <f32>s);
    }
    return;
  }
  // split the columns of every [R, inner] slab; 8 columns at a time
  const per = (((inner + nt - 1) / nt) + 3) & ~3;
  const c0 = min(inner, tid * per), c1 = min(inner, (tid + 1) * per);
  for (let o = 0; o < outer; o++) {
    const slab = x + <usize>o * <usize>R * <usize>inner * 4;
    const dst = out + <usize>o * <usize>inner * 4;
    let c = c0;
    for (; c + 8 <= c1; c += 8) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      let p = slab + <usize>c * 4;
      for (let r = 0; r < R; r++) {
        const v = v128.load(p), w = v128.load(p, 16);
        a0 = f64x2.add(a0, lo(v));
        a1 = f64x2.add(a1, hi(v));
        a2 = f64x2.add(a2, lo(w));
        a3 = f64x2.add(a3, hi(w));
        p += <usize>inner * 4;
      }
      v128.store(dst + <usize>c * 4, narrow(a0, a1));
      v128.store(dst + <usize>c * 4, narrow(a2, a3), 16);
    }
    for (; c < c1; c++) {
      let s: f64 = 0;
      let p = slab + <usize>c * 4;
      for (let r = 0; r < R; r++) {
        s += <f64>load<f32>(p);
        p += <usize>inner * 4;
      }
      store<f32>(dst + <usize>c * 4, <f32>s);
    }
  }
}

/**
 * Copy a strided view of up to 4 dims (shape d0..d3, element strides s0..s3 from src) into dst with
 * strides t0..t3 (a contiguous dst, or a window of a larger one), rows split over threads.
 * 4-byte elements.
 */
export function copyStrided4(src: usize, dst: usize, d0: i32, d1: i32, d2: i32, d3: i32, s0: i32, s1: i32, s2: i32, s3: i32, t0: i32, t1: i32, t2: i32, t3: i32, tid: i32, nt: i32): void {
  const rows = d0 * d1 * d2;
  const per = (rows + nt - 1) / nt;
  const r1 = min(rows, (tid + 1) * per);
  for (let r = tid * per; r < r1; r++) {
    const i2 = r % d2;
    const i1 = (r / d2) % d1;
    const i0 = r / (d2 * d1);
    const from = src + (<usize>i0 * <usize>s0 + <usize>i1 * <usize>s1 + <usize>i2 * <usize>s2) * 4;
    const to = dst + (<usize>i0 * <usize>t0 + <usize>i1 * <usize>t1 + <usize>i2 * <usize>t2) * 4;
    if (s3 == 1 && t3 == 1) {
      let j = 0;
      for (; j + 4 <= d3; j += 4) v128.store(to + <usize>j * 4, v128.load(from + <usize>j * 4));
      for (; j < d3; j++) store<u32>(to + <usize>j * 4, load<u32>(from + <usize>j * 4));
    } else {
      for (let j = 0; j < d3; j++) store<u32>(to + <usize>j * <usize>t3 * 4, load<u32>(from + <usize>j * <usize>s3 * 4));
    }
  }
}
