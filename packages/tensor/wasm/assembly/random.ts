// Counter-based random draws (the same hash as src/random.ts, so CPU builds agree): element i of
// a draw depends only on (key, i), so threads fill disjoint ranges independently.

@inline function hash2(key: u32, ctr: u32): u32 {
  let lo = ctr;
  let hi = key;
  for (let round: u32 = 0; round < 4; round++) {
    const prod = <u64>lo * <u64>0xd2511f53;
    lo = <u32>(prod >> 32) ^ hi ^ (<u32>0x9e3779b9 * (round + 1));
    hi = <u32>prod;
  }
  let x = lo ^ (hi * <u32>0x85ebca6b);
  x ^= x >> 16;
  x *= <u32>0x7feb352d;
  x ^= x >> 15;
  return x;
}

/**
 * Fill out[0..n) with draw `key`: kind 0 uniform in [low, high), 1 normal with mean `low` and
 * standard deviation `high` (Box-Muller in float64), 2 int32 uniform in [low, low + span).
 */
export function randomFill(out: usize, n: i32, key: u32, kind: i32, low: f64, high: f64, span: u32, tid: i32, nt: i32): void {
  const per = (n + nt - 1) / nt;
  const i0 = min(n, tid * per), i1 = min(n, (tid + 1) * per);
  if (kind == 0) {
    for (let i = i0; i < i1; i++) store<f32>(out + <usize>i * 4, <f32>(low + (high - low) * (<f64>(hash2(key, <u32>i) >> 8) / 16777216.0)));
  } else if (kind == 1) {
    for (let i = i0; i < i1; i++) {
      const u1 = (<f64>(hash2(key, <u32>(2 * i)) >> 8) + 1) / 16777217.0;
      const u2 = <f64>(hash2(key, <u32>(2 * i + 1)) >> 8) / 16777216.0;
      store<f32>(out + <usize>i * 4, <f32>(low + high * (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2))));
    }
  } else {
    const base = <i32>low;
    for (let i = i0; i < i1; i++) store<i32>(out + <usize>i * 4, base + <i32>(<u32>((<u64>hash2(key, <u32>i) * <u64>span) >> 32)));
  }
}
