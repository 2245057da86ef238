// Matmul against weights quantized to int8 (per-output-channel scales) or int4 (a scale per group
// of 32): out[n, o] = sum_k x[n, k] · q[o, k] · scale[o, k / groupSize] (+ bias[o]). Each output
// row is dequantized once into a float32 scratch row (16-byte chunks: 16 int8 or 32 int4 values),
// then dotted with every input row in float32 SIMD; rows are padded with zero weights to whole
// chunks, and only x's first K values are read.

/** Widen 16 int8 lanes to float32, multiply by `s`, and store them at `dst`. */
@inline function store16(dst: usize, w: v128, s: v128): void {
  const lo = i16x8.extend_low_i8x16_s(w), hi = i16x8.extend_high_i8x16_s(w);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), s));
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), s), 16);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), s), 32);
  v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), s), 48);
}

/** Dequantize packed row `row` (rowBytes bytes) into `dst` as float32. */
@inline function dequantizeRow(row: usize, sc: usize, dst: usize, rowBytes: i32, bits: i32, groupSize: i32): void {
  const chunks = rowBytes / 16;
  if (bits == 8) {
    const s = f32x4.splat(load<f32>(sc)); // one scale per row
    for (let c = 0; c < chunks; c++) store16(dst + <usize>c * 64, v128.load(row + <usize>c * 16), s);
    return;
  }
  // int4: a chunk holds 32 values (low nibble first), one group of 32 per chunk
  for (let c = 0; c < chunks; c++) {
    const w = v128.load(row + <usize>c * 16);
    const s = f32x4.splat(load<f32>(sc + <usize>((c * 32) / groupSize) * 4));
    const lows = i8x16.shr_s(i8x16.shl(w, 4), 4), highs = i8x16.shr_s(w, 4);
    store16(dst + <usize>c * 128, i8x16.shuffle(lows, highs, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), s);
    store16(dst + <usize>c * 128 + 64, i8x16.shuffle(lows, highs, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), s);
  }
}

/** sum_k a[k] · b[k] for k < K. */
@inline function dot(a: usize, b: usize, K: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + <usize>k * 4), v128.load(b + <usize>k * 4)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + <usize>k * 4, 16), v128.load(b + <usize>k * 4, 16)));
  }
  const s = f32x4.add(s0, s1);
  let total = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; k < K; k++) total += load<f32>(a + <usize>k * 4) * load<f32>(b + <usize>k * 4);
  return total;
}

/**
 * out[N, O] = x[N, K] · dequant(q[O, ·])ᵀ + bias. `rowBytes` is the packed row length (a multiple
 * of 16), `groupSize` the values per scale (the padded row for int8, 32 for int4); bias may be 0
 * (none); `scratch` holds one float32 row per thread (rowBytes·4 or ·8 bytes).
 */
export function quantizedMatmul(x: usize, q: usize, scales: usize, bias: usize, out: usize, N: i32, K: i32, O: i32, rowBytes: i32, bits: i32, groupSize: i32, scratch: usize, tid: i32, nt: i32): void {
  const per = (O + nt - 1) / nt;
  const o0 = min(O, tid * per), o1 = min(O, (tid + 1) * per);
  const values = bits == 8 ? rowBytes : rowBytes * 2;
  const groups = values / groupSize;
  const row = scratch + <usize>tid * <usize>values * 4;
  for (let o = o0; o < o1; o++) {
    dequantizeRow(q + <usize>o * <usize>rowBytes, scales + <usize>o * <usize>groups * 4, row, rowBytes, bits, groupSize);
    const b: f32 = bias != 0 ? load<f32>(bias + <usize>o * 4) : 0;
    for (let n = 0; n < N; n++) store<f32>(out + (<usize>n * <usize>O + <usize>o) * 4, dot(x + <usize>n * <usize>K * 4, row, K) + b);
  }
}
