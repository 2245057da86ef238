// Matmul against weights quantized to int8 (per-output-channel scales) or int4 (a scale per group
// of 32): out[n, o] = sum_k x[n, k] · q[o, k] · scale[o, k / groupSize] (+ bias[o]). Each output
// row's weights are read once per input row from a packed block of 16-byte chunks (int8: 16
// values, int4: 32 values as nibbles); rows are padded with zero weights to whole chunks, and the
// input's tail past K is summed one value at a time so padding never reads past x.

@inline function dot4(acc: v128, w: v128, x: usize): v128 {
  return f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(w), v128.load(x)));
}

/** Sum of x[0..16) · the 16 int8 lanes of `w`. */
@inline function dot16(w: v128, x: usize): f32 {
  const lo = i16x8.extend_low_i8x16_s(w), hi = i16x8.extend_high_i8x16_s(w);
  let a = f32x4.splat(0);
  a = dot4(a, i32x4.extend_low_i16x8_s(lo), x);
  a = dot4(a, i32x4.extend_high_i16x8_s(lo), x + 16);
  a = dot4(a, i32x4.extend_low_i16x8_s(hi), x + 32);
  a = dot4(a, i32x4.extend_high_i16x8_s(hi), x + 48);
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** Value k of a packed row (int8 or int4), as an integer. */
@inline function valueAt(row: usize, k: i32, bits: i32): i32 {
  if (bits == 8) return <i32>load<i8>(row + <usize>k);
  const byte = <i32>load<i8>(row + <usize>(k >> 1));
  return (k & 1) == 0 ? (byte << 28) >> 28 : byte >> 4;
}

/**
 * out[N, O] = x[N, K] · dequant(q[O, Kp])ᵀ + bias. `rowBytes` is the packed row length (a multiple
 * of 16), `groupSize` the values per scale (Kp for int8, 32 for int4); bias may be 0 (none).
 */
export function quantizedMatmul(x: usize, q: usize, scales: usize, bias: usize, out: usize, N: i32, K: i32, O: i32, rowBytes: i32, bits: i32, groupSize: i32, tid: i32, nt: i32): void {
  const per = (O + nt - 1) / nt;
  const o0 = min(O, tid * per), o1 = min(O, (tid + 1) * per);
  const groups = (bits == 8 ? rowBytes : rowBytes * 2) / groupSize;
  const chunkValues = bits == 8 ? 16 : 32;
  const chunksPerGroup = groupSize / chunkValues;
  for (let o = o0; o < o1; o++) {
    const row = q + <usize>o * <usize>rowBytes;
    const sc = scales + <usize>o * <usize>groups * 4;
    const b: f32 = bias != 0 ? load<f32>(bias + <usize>o * 4) : 0;
    for (let n = 0; n < N; n++) {
      const xr = x + <usize>n * <usize>K * 4;
      let total: f32 = 0;
      let k = 0;
      // whole chunks that lie inside K
      for (let c = 0; (c + 1) * chunkValues <= K; c++) {
        const w = v128.load(row + <usize>c * 16);
        let s: f32;
        if (bits == 8) s = dot16(w, xr + <usize>k * 4);
        else {
          const lows = i8x16.shr_s(i8x16.shl(w, 4), 4), highs = i8x16.shr_s(w, 4);
          const first = i8x16.shuffle(lows, highs, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const second = i8x16.shuffle(lows, highs, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
          s = dot16(first, xr + <usize>k * 4) + dot16(second, xr + <usize>(k + 16) * 4);
        }
        total += s * load<f32>(sc + <usize>(c / chunksPerGroup) * 4);
        k += chunkValues;
      }
      // the tail of K, value by value
      for (; k < K; k++) total += <f32>valueAt(row, k, bits) * load<f32>(sc + <usize>(k / groupSize) * 4) * load<f32>(xr + <usize>k * 4);
      store<f32>(out + (<usize>n * <usize>O + <usize>o) * 4, total + b);
    }
  }
}
