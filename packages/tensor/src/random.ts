/**
 * One seeded generator per process. Draws are counter based (a Philox-style 32-bit hash of
 * (seed, counter)), so the i-th number of a draw depends only on the seed and its position: the
 * CPU and GPU backends produce the same streams, and a resumed run continues the same sequence.
 */

let seed = 0x2545f491;
let draws = 0;

/** Seed every later random draw (`rand`, `randn`, `dropout`, `multinomial`, init). @example manualSeed(1337) */
export function manualSeed(n: number): void {
  if (!Number.isSafeInteger(n)) throw new Error(`manualSeed: seed must be an integer (at most 2^53 - 1 in size), got ${n}`);
  const lo = Math.floor(Math.abs(n)) % 4294967296;
  const hi = Math.floor(Math.abs(n) / 4294967296);
  seed = hash2(lo ^ 0x2545f491, hi ^ (n < 0 ? 0x9e3779b9 : 0));
  draws = 0;
}

/** The generator's state, for checkpoints: restoring it continues the same sequence. */
export function getRngState(): { seed: number; draws: number } {
  return { seed, draws };
}

/** Restore the generator to a state from `getRngState()` (resuming a run reproducibly). */
export function setRngState(state: { seed: number; draws: number }): void {
  seed = state.seed >>> 0;
  draws = state.draws;
}

/** While a graph is captured: the keys drawn, in order (a replay draws as many afresh). */
let drawLog: number[] | null = null;

/** The key of the next draw: element i of the draw is a function of (key, i) alone. */
export function nextDrawKey(): number {
  const key = hash2(seed, draws);
  draws++;
  drawLog?.push(key);
  return key;
}

/** Start (an array) or stop (null) logging the keys drawn; returns the log that was active. */
export function logDraws(log: number[] | null): number[] | null {
  const previous = drawLog;
  drawLog = log;
  return previous;
}

/** 32-bit avalanche hash of two words (two rounds of a Philox-like multiply-xor). */
export function hash2(key: number, ctr: number): number {
  let lo = ctr >>> 0;
  let hi = key >>> 0;
  for (let round = 0; round < 4; round++) {
    const p = Math.imul(lo, 0xd2511f53) >>> 0;
    const mulhi = umulhi(lo, 0xd2511f53);
    lo = (mulhi ^ hi ^ (0x9e3779b9 * (round + 1))) >>> 0;
    hi = p;
  }
  let x = (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  return x >>> 0;
}

/** High 32 bits of the 64-bit product of two u32 (exact; the WGSL twin is umulhi32). */
export function umulhi(a: number, b: number): number {
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const lolo = aLo * bLo;
  const hilo = aHi * bLo;
  const lohi = aLo * bHi;
  const cross = (lolo >>> 16) + (hilo & 0xffff) + (lohi & 0xffff);
  return (aHi * bHi + (hilo >>> 16) + (lohi >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** Uniform in [0, 1) with 53 bits (two hashes), the i-th number of a draw. */
function uniform53At(key: number, i: number): number {
  return (hash2(key, 2 * i) * 2097152 + (hash2(key, 2 * i + 1) >>> 11)) / 9007199254740992;
}

/** Uniform in [0, 1) with 24 bits, the i-th number of a draw. */
export function uniformAt(s: number, i: number): number {
  return (hash2(s, i) >>> 8) / 16777216;
}

/** Standard normal from two uniforms (Box-Muller), the i-th number of a draw. */
export function normalAt(s: number, i: number): number {
  const u1 = ((hash2(s, 2 * i) >>> 8) + 1) / 16777217; // (0, 1]
  const u2 = (hash2(s, 2 * i + 1) >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Integers uniform in [low, high) drawn on the host from the seeded generator (one draw, like
 * `randint`, and the same numbers for ranges below 2^32). Ranges up to 2^53 use 53 random bits.
 * @example const offsets = randomInts(batchSize, 0, tokens - blockSize);
 */
export function randomInts(n: number, low: number, high: number): Float64Array {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new Error(`randomInts: need integers low < high, got ${low}, ${high}`);
  const key = nextDrawKey();
  const range = high - low;
  const out = new Float64Array(n);
  if (range <= 4294967296) {
    for (let i = 0; i < n; i++) out[i] = low + umulhi(hash2(key, i), range);
  } else {
    for (let i = 0; i < n; i++) out[i] = low + Math.floor(uniform53At(key, i) * range);
  }
  return out;
}

/** Uniform floats in [0, 1) drawn on the host from the seeded generator (53 random bits each). */
export function randomUniform(n: number): Float64Array {
  const key = nextDrawKey();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = uniform53At(key, i);
  return out;
}
