// Sums over a contiguous block of dims: x viewed as [outer, R, inner], out [outer, inner].
// Covers row sums (inner = 1) and column sums such as bias gradients (outer = 1).

/** Column sums are split over `inner` across threads; other sums over `outer`. */
export function sumF32(x: usize, out: usize, outer: i32, R: i32, inner: i32, tid: i32, nt: i32): void {
  if (inner == 1) {
    const per = (outer + nt - 1) / nt;
    const o1 = min(outer, (tid + 1) * per);
    for (let o = tid * per; o < o1; o++) {
      const row = x + <usize>o * <usize>R * 4;
      let s4 = f32x4.splat(0);
      let r = 0;
      for (; r + 4 <= R; r += 4) s4 = f32x4.add(s4, v128.load(row + <usize>r * 4));
      let s: f64 = <f64>(f32x4.extract_lane(s4, 0) + f32x4.extract_lane(s4, 1) + f32x4.extract_lane(s4, 2) + f32x4.extract_lane(s4, 3));
      for (; r < R; r++) s += <f64>load<f32>(row + <usize>r * 4);
      store<f32>(out + <usize>o * 4, <f32>s);
    }
    return;
  }
  // split the columns of every [R, inner] slab
  const per = (((inner + nt - 1) / nt) + 3) & ~3;
  const c0 = min(inner, tid * per), c1 = min(inner, (tid + 1) * per);
  for (let o = 0; o < outer; o++) {
    const slab = x + <usize>o * <usize>R * <usize>inner * 4;
    const dst = out + <usize>o * <usize>inner * 4;
    let c = c0;
    for (; c + 16 <= c1; c += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = slab + <usize>c * 4;
      for (let r = 0; r < R; r++) {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
        p += <usize>inner * 4;
      }
      v128.store(dst + <usize>c * 4, a0);
      v128.store(dst + <usize>c * 4, a1, 16);
      v128.store(dst + <usize>c * 4, a2, 32);
      v128.store(dst + <usize>c * 4, a3, 48);
    }
    for (; c + 4 <= c1; c += 4) {
      let a0 = f32x4.splat(0);
      let p = slab + <usize>c * 4;
      for (let r = 0; r < R; r++) {
        a0 = f32x4.add(a0, v128.load(p));
        p += <usize>inner * 4;
      }
      v128.store(dst + <usize>c * 4, a0);
    }
    for (; c < c1; c++) {
      let s: f32 = 0;
      let p = slab + <usize>c * 4;
      for (let r = 0; r < R; r++) {
        s += load<f32>(p);
        p += <usize>inner * 4;
      }
      store<f32>(dst + <usize>c * 4, s);
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
