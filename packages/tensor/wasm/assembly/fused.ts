// Fused row kernels of the CPU backend: softmax, LayerNorm, GELU and cross-entropy, forward and
// backward. Rows are split across threads (each thread takes a contiguous block of rows).

import { exp4, erf4, tanh4, hsum, hmax, exp1 } from './math';

// @ts-ignore: decorator
@inline function rowRange(rows: i32, tid: i32, nt: i32): i32 {
  return (rows + nt - 1) / nt;
}

/**
 * y = softmax(x) over rows of `cols` contiguous floats. With `causalRows` > 0, row r (position
 * r % causalRows + offset of its matrix) sees only columns <= that position: the rest get 0.
 */
export function softmaxRows(x: usize, y: usize, rows: i32, cols0: i32, causalRows: i32, offset: i32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  for (let r = tid * per; r < r1; r++) {
    const cols = causalRows > 0 ? min(cols0, r % causalRows + offset + 1) : cols0;
    const v = cols & ~3;
    const xr = x + <usize>r * <usize>cols0 * 4;
    const yr = y + <usize>r * <usize>cols0 * 4;
    if (cols < cols0) memory.fill(yr + <usize>cols * 4, 0, <usize>(cols0 - cols) * 4);
    let m4 = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < v; j += 4) m4 = f32x4.max(m4, v128.load(xr + <usize>j * 4));
    let m = hmax(m4);
    for (; j < cols; j++) m = max(m, load<f32>(xr + <usize>j * 4));
    if (m == -Infinity) m = 0; // a fully masked row: exp(-inf) = 0 everywhere (0/0 below gives NaN as PyTorch does)
    const ms = f32x4.splat(m);
    let s4 = f32x4.splat(0);
    j = 0;
    for (; j < v; j += 4) {
      const e = exp4(f32x4.sub(v128.load(xr + <usize>j * 4), ms));
      v128.store(yr + <usize>j * 4, e);
      s4 = f32x4.add(s4, e);
    }
    let s = hsum(s4);
    for (; j < cols; j++) {
      const e = exp1(load<f32>(xr + <usize>j * 4) - m);
      store<f32>(yr + <usize>j * 4, e);
      s += e;
    }
    const inv = f32x4.splat(1 / s);
    j = 0;
    for (; j < v; j += 4) v128.store(yr + <usize>j * 4, f32x4.mul(v128.load(yr + <usize>j * 4), inv));
    for (; j < cols; j++) store<f32>(yr + <usize>j * 4, load<f32>(yr + <usize>j * 4) / s);
  }
}

/** dx = y * (g - sum(g * y)) per row. */
export function softmaxBackwardRows(y: usize, g: usize, dx: usize, rows: i32, cols: i32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  const v = cols & ~3;
  for (let r = tid * per; r < r1; r++) {
    const off = <usize>r * <usize>cols * 4;
    let d4 = f32x4.splat(0);
    let j = 0;
    for (; j < v; j += 4) d4 = f32x4.add(d4, f32x4.mul(v128.load(y + off + <usize>j * 4), v128.load(g + off + <usize>j * 4)));
    let d = hsum(d4);
    for (; j < cols; j++) d += load<f32>(y + off + <usize>j * 4) * load<f32>(g + off + <usize>j * 4);
    const ds = f32x4.splat(d);
    j = 0;
    for (; j < v; j += 4) {
      const at = off + <usize>j * 4;
      v128.store(dx + at, f32x4.mul(v128.load(y + at), f32x4.sub(v128.load(g + at), ds)));
    }
    for (; j < cols; j++) {
      const at = off + <usize>j * 4;
      store<f32>(dx + at, load<f32>(y + at) * (load<f32>(g + at) - d));
    }
  }
}

/** LayerNorm over rows: y = (x - mean) * rstd * w + b (w, b optional: pass 0); saves mean and rstd per row. */
export function layerNormRows(x: usize, w: usize, b: usize, y: usize, mean: usize, rstd: usize, rows: i32, cols: i32, eps: f32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  const v = cols & ~3;
  for (let r = tid * per; r < r1; r++) {
    const off = <usize>r * <usize>cols * 4;
    let s4 = f32x4.splat(0);
    let j = 0;
    for (; j < v; j += 4) s4 = f32x4.add(s4, v128.load(x + off + <usize>j * 4));
    let s = hsum(s4);
    for (; j < cols; j++) s += load<f32>(x + off + <usize>j * 4);
    const mu = s / <f32>cols;
    const mu4 = f32x4.splat(mu);
    let q4 = f32x4.splat(0);
    j = 0;
    for (; j < v; j += 4) {
      const d = f32x4.sub(v128.load(x + off + <usize>j * 4), mu4);
      q4 = f32x4.add(q4, f32x4.mul(d, d));
    }
    let q = hsum(q4);
    for (; j < cols; j++) {
      const d = load<f32>(x + off + <usize>j * 4) - mu;
      q += d * d;
    }
    const rs = <f32>(1.0 / Math.sqrt(<f64>(q / <f32>cols) + <f64>eps));
    store<f32>(mean + <usize>r * 4, mu);
    store<f32>(rstd + <usize>r * 4, rs);
    const rs4 = f32x4.splat(rs);
    j = 0;
    for (; j < v; j += 4) {
      let n = f32x4.mul(f32x4.sub(v128.load(x + off + <usize>j * 4), mu4), rs4);
      if (w != 0) n = f32x4.mul(n, v128.load(w + <usize>j * 4));
      if (b != 0) n = f32x4.add(n, v128.load(b + <usize>j * 4));
      v128.store(y + off + <usize>j * 4, n);
    }
    for (; j < cols; j++) {
      let n = (load<f32>(x + off + <usize>j * 4) - mu) * rs;
      if (w != 0) n *= load<f32>(w + <usize>j * 4);
      if (b != 0) n += load<f32>(b + <usize>j * 4);
      store<f32>(y + off + <usize>j * 4, n);
    }
  }
}

/**
 * LayerNorm backward. dx per row; the weight and bias gradients are summed per thread into
 * `partials` (2·cols floats per thread: dw then db) for the caller to add up.
 */
export function layerNormBackwardRows(g: usize, x: usize, mean: usize, rstd: usize, w: usize, dx: usize, partials: usize, rows: i32, cols: i32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  const v = cols & ~3;
  const dw = partials + <usize>tid * <usize>cols * 8;
  const db = dw + <usize>cols * 4;
  memory.fill(dw, 0, <usize>cols * 8);
  const invN: f32 = <f32>1 / <f32>cols;
  for (let r = tid * per; r < r1; r++) {
    const off = <usize>r * <usize>cols * 4;
    const mu = f32x4.splat(load<f32>(mean + <usize>r * 4));
    const rs = load<f32>(rstd + <usize>r * 4);
    const rs4 = f32x4.splat(rs);
    // xhat = (x - mu) * rs ; gw = g * w ; dx = rs * (gw - mean(gw) - xhat * mean(gw * xhat))
    let a4 = f32x4.splat(0), b4 = f32x4.splat(0);
    let j = 0;
    for (; j < v; j += 4) {
      const at = off + <usize>j * 4;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + at), mu), rs4);
      const gv = v128.load(g + at);
      const gw = w != 0 ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      a4 = f32x4.add(a4, gw);
      b4 = f32x4.add(b4, f32x4.mul(gw, xh));
      v128.store(dw + <usize>j * 4, f32x4.add(v128.load(dw + <usize>j * 4), f32x4.mul(gv, xh)));
      v128.store(db + <usize>j * 4, f32x4.add(v128.load(db + <usize>j * 4), gv));
    }
    let sa = hsum(a4), sb = hsum(b4);
    const muS = f32x4.extract_lane(mu, 0);
    for (; j < cols; j++) {
      const at = off + <usize>j * 4;
      const xh = (load<f32>(x + at) - muS) * rs;
      const gv = load<f32>(g + at);
      const gw = w != 0 ? gv * load<f32>(w + <usize>j * 4) : gv;
      sa += gw;
      sb += gw * xh;
      store<f32>(dw + <usize>j * 4, load<f32>(dw + <usize>j * 4) + gv * xh);
      store<f32>(db + <usize>j * 4, load<f32>(db + <usize>j * 4) + gv);
    }
    const ma = f32x4.splat(sa * invN), mb = f32x4.splat(sb * invN);
    j = 0;
    for (; j < v; j += 4) {
      const at = off + <usize>j * 4;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + at), mu), rs4);
      const gv = v128.load(g + at);
      const gw = w != 0 ? f32x4.mul(gv, v128.load(w + <usize>j * 4)) : gv;
      v128.store(dx + at, f32x4.mul(rs4, f32x4.sub(f32x4.sub(gw, ma), f32x4.mul(xh, mb))));
    }
    const maS = sa * invN, mbS = sb * invN;
    for (; j < cols; j++) {
      const at = off + <usize>j * 4;
      const xh = (load<f32>(x + at) - muS) * rs;
      const gv = load<f32>(g + at);
      const gw = w != 0 ? gv * load<f32>(w + <usize>j * 4) : gv;
      store<f32>(dx + at, rs * (gw - maS - xh * mbS));
    }
  }
}

const K0: f32 = 0.7978845608028654; // sqrt(2 / pi)
const K1: f32 = 0.044715;
const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// @ts-ignore: decorator
@inline function chunk(n: i32, tid: i32, nt: i32): i32 {
  return ((((n + nt - 1) / nt) + 3) & ~3);
}

/** GELU over n floats; approximate = 1: tanh form, 0: exact (erf). */
export function geluForward(x: usize, y: usize, n: i32, approximate: i32, tid: i32, nt: i32): void {
  const per = chunk(n, tid, nt);
  const i0 = min(n, tid * per), i1 = min(n, (tid + 1) * per);
  const half = f32x4.splat(0.5), one = f32x4.splat(1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v = v128.load(x + <usize>i * 4);
    let t: v128;
    if (approximate) t = tanh4(f32x4.mul(f32x4.splat(K0), f32x4.add(v, f32x4.mul(f32x4.splat(K1), f32x4.mul(v, f32x4.mul(v, v))))));
    else t = erf4(f32x4.mul(v, f32x4.splat(INV_SQRT2)));
    v128.store(y + <usize>i * 4, f32x4.mul(f32x4.mul(half, v), f32x4.add(one, t)));
  }
  for (; i < i1; i++) {
    const v = f32x4.splat(load<f32>(x + <usize>i * 4));
    const t = approximate ? tanh4(f32x4.mul(f32x4.splat(K0), f32x4.add(v, f32x4.mul(f32x4.splat(K1), f32x4.mul(v, f32x4.mul(v, v)))))) : erf4(f32x4.mul(v, f32x4.splat(INV_SQRT2)));
    store<f32>(y + <usize>i * 4, f32x4.extract_lane(f32x4.mul(f32x4.mul(half, v), f32x4.add(one, t)), 0));
  }
}

/** dx = g * gelu'(x). */
export function geluBackward(x: usize, g: usize, dx: usize, n: i32, approximate: i32, tid: i32, nt: i32): void {
  const per = chunk(n, tid, nt);
  const i0 = min(n, tid * per), i1 = min(n, (tid + 1) * per);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(dx + <usize>i * 4, geluGrad4(v128.load(x + <usize>i * 4), v128.load(g + <usize>i * 4), approximate));
  for (; i < i1; i++) {
    const d = geluGrad4(f32x4.splat(load<f32>(x + <usize>i * 4)), f32x4.splat(load<f32>(g + <usize>i * 4)), approximate);
    store<f32>(dx + <usize>i * 4, f32x4.extract_lane(d, 0));
  }
}

// @ts-ignore: decorator
@inline function geluGrad4(v: v128, gv: v128, approximate: i32): v128 {
  const half = f32x4.splat(0.5), one = f32x4.splat(1);
  if (approximate) {
    const v2 = f32x4.mul(v, v);
    const t = tanh4(f32x4.mul(f32x4.splat(K0), f32x4.add(v, f32x4.mul(f32x4.splat(K1), f32x4.mul(v, v2)))));
    const dt = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), f32x4.mul(f32x4.splat(K0), f32x4.add(one, f32x4.mul(f32x4.splat(3 * K1), v2))));
    return f32x4.mul(gv, f32x4.add(f32x4.mul(half, f32x4.add(one, t)), f32x4.mul(f32x4.mul(half, v), dt)));
  }
  const cdf = f32x4.mul(half, f32x4.add(one, erf4(f32x4.mul(v, f32x4.splat(INV_SQRT2)))));
  const pdf = f32x4.mul(f32x4.splat(INV_SQRT_2PI), exp4(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(v, v))));
  return f32x4.mul(gv, f32x4.add(cdf, f32x4.mul(v, pdf)));
}

/**
 * Cross-entropy per row with class targets: loss = lse(x) - ((1-s)·x[t] + s·mean(x)); rows whose
 * target equals `ignore` get 0. Saves lse per row for the backward pass.
 */
export function crossEntropyRows(x: usize, targets: usize, loss: usize, lse: usize, rows: i32, cols: i32, ignore: i32, smoothing: f32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  const v = cols & ~3;
  for (let r = tid * per; r < r1; r++) {
    const xr = x + <usize>r * <usize>cols * 4;
    let m4 = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < v; j += 4) m4 = f32x4.max(m4, v128.load(xr + <usize>j * 4));
    let m = hmax(m4);
    for (; j < cols; j++) m = max(m, load<f32>(xr + <usize>j * 4));
    const ms = f32x4.splat(m);
    let s4 = f32x4.splat(0), t4 = f32x4.splat(0);
    j = 0;
    for (; j < v; j += 4) {
      const xv = v128.load(xr + <usize>j * 4);
      s4 = f32x4.add(s4, exp4(f32x4.sub(xv, ms)));
      t4 = f32x4.add(t4, xv);
    }
    let s = hsum(s4), total = hsum(t4);
    for (; j < cols; j++) {
      const xv = load<f32>(xr + <usize>j * 4);
      s += exp1(xv - m);
      total += xv;
    }
    const l = m + <f32>Math.log(<f64>s);
    store<f32>(lse + <usize>r * 4, l);
    const t = load<i32>(targets + <usize>r * 4);
    if (t == ignore) {
      store<f32>(loss + <usize>r * 4, 0);
      continue;
    }
    const picked = load<f32>(xr + <usize>t * 4);
    // the smoothing term only when on: 0 · (-Infinity) from a masked logit would be NaN
    store<f32>(loss + <usize>r * 4, l - (1 - smoothing) * picked - (smoothing > 0 ? smoothing * total / <f32>cols : <f32>0));
  }
}

/** dx = g_row · (softmax(x) - (1-s)·onehot(t) - s/C); zero rows for ignored targets. */
export function crossEntropyBackwardRows(x: usize, targets: usize, lse: usize, g: usize, dx: usize, rows: i32, cols: i32, ignore: i32, smoothing: f32, tid: i32, nt: i32): void {
  const per = rowRange(rows, tid, nt);
  const r1 = min(rows, (tid + 1) * per);
  const v = cols & ~3;
  for (let r = tid * per; r < r1; r++) {
    const off = <usize>r * <usize>cols * 4;
    const t = load<i32>(targets + <usize>r * 4);
    const gr = t == ignore ? <f32>0 : load<f32>(g + <usize>r * 4);
    const l4 = f32x4.splat(load<f32>(lse + <usize>r * 4));
    const g4 = f32x4.splat(gr);
    const u4 = f32x4.splat(smoothing / <f32>cols);
    let j = 0;
    for (; j < v; j += 4) {
      const p = exp4(f32x4.sub(v128.load(x + off + <usize>j * 4), l4));
      v128.store(dx + off + <usize>j * 4, f32x4.mul(g4, f32x4.sub(p, u4)));
    }
    const l = f32x4.extract_lane(l4, 0);
    for (; j < cols; j++) store<f32>(dx + off + <usize>j * 4, gr * (exp1(load<f32>(x + off + <usize>j * 4) - l) - smoothing / <f32>cols));
    if (t != ignore) store<f32>(dx + off + <usize>t * 4, load<f32>(dx + off + <usize>t * 4) - gr * (1 - smoothing));
  }
}
