// Elementwise float32 loops: the binary ops on contiguous operands or on the common broadcast
// patterns (a scalar, a row vector repeated over rows, a column vector repeated over columns).

// @ts-ignore: decorator
@inline function vop(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case 0: return f32x4.add(x, y);
    case 1: return f32x4.sub(x, y);
    case 2: return f32x4.mul(x, y);
    case 3: return f32x4.div(x, y);
    case 4: return f32x4.max(x, y);
    default: return f32x4.min(x, y);
  }
}

// @ts-ignore: decorator
@inline function sop(op: i32, x: f32, y: f32): f32 {
  switch (op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    case 4: return x != x || y != y ? NaN : max(x, y);
    default: return x != x || y != y ? NaN : min(x, y);
  }
}

/**
 * out[r, c] = op(a[r·aRs + c·aCs], b[r·bRs + c·bCs]) with column strides 0 or 1; out is contiguous
 * [rows, cols]. op: 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum. Rows are split over threads
 * (or, for one row, columns).
 */
export function binaryF32(op: i32, a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32, out: usize, rows: i32, cols: i32, tid: i32, nt: i32): void {
  let r0 = 0, r1 = rows, c0 = 0, c1 = cols;
  if (rows >= nt) {
    const per = (rows + nt - 1) / nt;
    r0 = min(rows, tid * per);
    r1 = min(rows, (tid + 1) * per);
  } else {
    const per = (((cols + nt - 1) / nt) + 3) & ~3;
    c0 = min(cols, tid * per);
    c1 = min(cols, (tid + 1) * per);
  }
  for (let r = r0; r < r1; r++) {
    const ar = a + <usize>r * <usize>aRs * 4;
    const br = b + <usize>r * <usize>bRs * 4;
    const or = out + <usize>r * <usize>cols * 4;
    let c = c0;
    if (aCs == 1 && bCs == 1) {
      for (; c + 4 <= c1; c += 4) v128.store(or + <usize>c * 4, vop(op, v128.load(ar + <usize>c * 4), v128.load(br + <usize>c * 4)));
      for (; c < c1; c++) store<f32>(or + <usize>c * 4, sop(op, load<f32>(ar + <usize>c * 4), load<f32>(br + <usize>c * 4)));
    } else if (aCs == 1) {
      const bs = load<f32>(br);
      const b4 = f32x4.splat(bs);
      for (; c + 4 <= c1; c += 4) v128.store(or + <usize>c * 4, vop(op, v128.load(ar + <usize>c * 4), b4));
      for (; c < c1; c++) store<f32>(or + <usize>c * 4, sop(op, load<f32>(ar + <usize>c * 4), bs));
    } else if (bCs == 1) {
      const as = load<f32>(ar);
      const a4 = f32x4.splat(as);
      for (; c + 4 <= c1; c += 4) v128.store(or + <usize>c * 4, vop(op, a4, v128.load(br + <usize>c * 4)));
      for (; c < c1; c++) store<f32>(or + <usize>c * 4, sop(op, as, load<f32>(br + <usize>c * 4)));
    } else {
      const v = sop(op, load<f32>(ar), load<f32>(br));
      for (; c < c1; c++) store<f32>(or + <usize>c * 4, v);
    }
  }
}

/** AdamW/Adam step over n floats (PyTorch's single-tensor formula), in place on p, m, v. */
export function adamF32(p: usize, g: usize, m: usize, v: usize, n: i32, decay: f32, beta1: f32, beta2: f32, eps: f32, stepSize: f32, l2: f32, bc2Sqrt: f32, tid: i32, nt: i32): void {
  const per = (((n + nt - 1) / nt) + 3) & ~3;
  const i0 = min(n, tid * per), i1 = min(n, (tid + 1) * per);
  const d4 = f32x4.splat(decay), b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2), c1 = f32x4.splat(1 - beta1), c2 = f32x4.splat(1 - beta2);
  const e4 = f32x4.splat(eps), s4 = f32x4.splat(stepSize), l4 = f32x4.splat(l2), q4 = f32x4.splat(bc2Sqrt);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const at = <usize>i * 4;
    const p0 = v128.load(p + at);
    const gi = f32x4.add(v128.load(g + at), f32x4.mul(l4, p0));
    const mi = f32x4.add(f32x4.mul(v128.load(m + at), b1), f32x4.mul(gi, c1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + at), b2), f32x4.mul(f32x4.mul(gi, gi), c2));
    v128.store(m + at, mi);
    v128.store(v + at, vi);
    v128.store(p + at, f32x4.sub(f32x4.mul(p0, d4), f32x4.div(f32x4.mul(s4, mi), f32x4.add(f32x4.div(f32x4.sqrt(vi), q4), e4))));
  }
  for (; i < i1; i++) {
    const at = <usize>i * 4;
    const p0 = load<f32>(p + at);
    const gi = load<f32>(g + at) + l2 * p0;
    const mi = load<f32>(m + at) * beta1 + gi * (1 - beta1);
    const vi = load<f32>(v + at) * beta2 + gi * gi * (1 - beta2);
    store<f32>(m + at, mi);
    store<f32>(v + at, vi);
    store<f32>(p + at, p0 * decay - (stepSize * mi) / (<f32>Math.sqrt(vi) / bc2Sqrt + eps));
  }
}
