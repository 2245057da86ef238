/**
 * WGSL generation helpers shared by every op's GPU kernel: storage and compute types per dtype,
 * binding declarations, the prelude of helper functions, strided indexing through params, and the
 * generic elementwise kernel (any number of strided/broadcast inputs, one contiguous output).
 */
import type { DType } from '../../dtype.ts';
import { collapse, contiguousStrides, numel, type Shape } from '../../shape.ts';
import type { GpuBindingRef, GpuKernelContext, OutputSpec, View } from '../types.ts';

export type WgslType = 'f32' | 'f16' | 'i32' | 'u32';

/** How a dtype is stored in a GPU buffer (bool as u32; float64 has no GPU form). */
export function storageType(dtype: DType): WgslType {
  switch (dtype) {
    case 'float32': return 'f32';
    case 'float16': return 'f16';
    case 'int32': return 'i32';
    case 'bool': return 'u32';
    case 'float64': throw new Error('float64 is CPU-only (WGSL has no 64-bit floats); use float32 on the GPU');
  }
}

/** The type arithmetic runs in: f16 is widened to f32. */
export function computeType(dtype: DType): 'f32' | 'i32' | 'u32' {
  const t = storageType(dtype);
  return t === 'f16' ? 'f32' : t;
}

/** Bytes per element in a GPU buffer. */
export function gpuItemSize(dtype: DType): number {
  return dtype === 'float16' ? 2 : 4;
}

/**
 * WGSL adding f32 `value` into element `element` (e.g. `out[o]`) of an `array<atomic<u32>>`
 * atomically: WGSL has no float atomics, so a compare-exchange loop on the bits, in its own block.
 */
export function atomicAddF32(element: string, value: string): string {
  return `  {
    var old = atomicLoad(&${element});
    loop {
      let swapped = atomicCompareExchangeWeak(&${element}, old, bitcast<u32>(bitcast<f32>(old) + ${value}));
      if (swapped.exchanged) { break; }
      old = swapped.old_value;
    }
  }`;
}

/** The storage buffers a dispatch with these bindings takes (windows of large tensors counted), the params included. */
export function storageBuffers(ctx: GpuKernelContext, bindings: readonly GpuBindingRef[]): number {
  let n = 1;
  for (const ref of bindings) n += ctx.bindingsOf(ref);
  return n;
}

/** Read an element as its compute type. */
export function load(dtype: DType, expr: string): string {
  return dtype === 'float16' ? `f32(${expr})` : expr;
}

/** Convert a compute-type value to the storage type of `dtype`. */
export function store(dtype: DType, expr: string): string {
  if (dtype === 'bool') return `select(0u, 1u, (${expr}) != 0)`;
  return `${storageType(dtype)}(${expr})`;
}

/** A literal of `dtype`'s compute type (infinities clamp to the largest finite f32). */
export function literal(dtype: DType, v: number): string {
  const t = computeType(dtype);
  if (t === 'f32') {
    if (Number.isNaN(v)) return 'from_bits(0x7fc00000u)';
    if (!Number.isFinite(v)) return v > 0 ? 'from_bits(0x7f800000u)' : 'from_bits(0xff800000u)';
    const s = String(Math.fround(v));
    return s.includes('.') || s.includes('e') ? `f32(${s})` : `f32(${s}.0)`;
  }
  if (t === 'i32') return `i32(${Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)))})`;
  return `${v !== 0 ? 1 : 0}u`;
}

export interface BindingDecl {
  name: string;
  dtype: DType;
  write?: boolean;
  /** Declared as array<atomic<u32|i32>> for scatter-adds. */
  atomic?: boolean;
}

/**
 * The error buffer of a validating kernel, declared with a `fail(code, a, b)` function that
 * records the first failure in the slot whose number is the param P[slotParam].
 */
export function errorBinding(slotParam: number): BindingDecl & { errorSlot: number } {
  return { name: 'errs', dtype: 'int32', errorSlot: slotParam };
}

/** `enable f16;` when needed, the binding declarations, and the params binding `P` last. */
export function header(bindings: readonly (BindingDecl & { errorSlot?: number })[]): string {
  const f16 = bindings.some((b) => b.dtype === 'float16');
  const lines = bindings.map((b, i) => {
    if (b.errorSlot !== undefined) {
      return `@group(0) @binding(${i}) var<storage, read_write> errs: array<atomic<u32>>;
fn fail(code: u32, a: u32, b: u32) {
  let s = P[${b.errorSlot}u] * 4u;
  if (atomicExchange(&errs[s], code) == 0u) { atomicStore(&errs[s + 1u], a); atomicStore(&errs[s + 2u], b); }
}`;
    }
    const t = storageType(b.dtype);
    const elem = b.atomic ? `atomic<${t === 'i32' ? 'i32' : 'u32'}>` : t;
    return `@group(0) @binding(${i}) var<storage, ${b.write || b.atomic ? 'read_write' : 'read'}> ${b.name}: array<${elem}>;`;
  });
  lines.push(`@group(0) @binding(${bindings.length}) var<storage, read> P: array<u32>;`);
  return `${f16 ? 'enable f16;\n' : ''}${lines.join('\n')}\n${PRELUDE}`;
}

const GELU_K0 = Math.sqrt(2 / Math.PI);
const GELU_K1 = 0.044715;

/** WGSL for tanh(√(2/π)·(v + 0.044715·v³)), the inner term of GPT-2's GELU (clamped: tanh overflows in some drivers). */
export function geluTanhInner(v: string): string {
  return `tanh(clamp(${GELU_K0} * (${v} + ${GELU_K1} * ${v} * ${v} * ${v}), -15.0, 15.0))`;
}

/** WGSL for GELU of `v` (an f32 expression without side effects): exact x·Φ(x), or the tanh approximation. */
export function geluWgsl(v: string, tanh: boolean): string {
  return tanh ? `(0.5 * ${v} * (1.0 + ${geluTanhInner(v)}))` : `(0.5 * ${v} * (1.0 + erf_f32(${v} * 0.7071067811865476)))`;
}

/** Helper functions every kernel may use (unused ones cost nothing). */
export const PRELUDE = /* wgsl */ `
const WG: u32 = 256u;
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i]); }
// NaN and infinities cannot be WGSL constants: derive them from a runtime value
fn from_bits(b: u32) -> f32 { return bitcast<f32>(b | (P[0] & 0u)); }
fn erf_f32(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
fn pow_safe(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (fract(b) != 0.0) { return from_bits(0x7fc00000u); }
  let r = pow(-a, b);
  return select(r, -r, fract(b * 0.5) != 0.0);
}
fn pow_i32(a: i32, b: i32) -> i32 {
  if (b < 0) { return select(0, select(-1, 1, (b & 1) == 0), a == -1) + select(0, 1, a == 1); }
  var r = 1; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) == 1) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}
fn umulhi32(a: u32, b: u32) -> u32 {
  let aLo = a & 0xffffu; let aHi = a >> 16u; let bLo = b & 0xffffu; let bHi = b >> 16u;
  let lolo = aLo * bLo; let hilo = aHi * bLo; let lohi = aLo * bHi;
  let cross = (lolo >> 16u) + (hilo & 0xffffu) + (lohi & 0xffffu);
  return aHi * bHi + (hilo >> 16u) + (lohi >> 16u) + (cross >> 16u);
}
fn hash2(key: u32, ctr: u32) -> u32 {
  var lo = ctr; var hi = key;
  for (var round = 0u; round < 4u; round++) {
    let p = lo * 0xd2511f53u;
    let mh = umulhi32(lo, 0xd2511f53u);
    lo = mh ^ hi ^ (0x9e3779b9u * (round + 1u));
    hi = p;
  }
  var x = lo ^ (hi * 0x85ebca6bu);
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  return x;
}
// the ctr-th uniform in [0, 1) of draw key (random.ts's uniformAt, bit for bit)
fn uniform_at(key: u32, ctr: u32) -> f32 { return f32(hash2(key, ctr) >> 8u) / 16777216.0; }
fn strided(i: u32, shapeAt: u32, rank: u32, at: u32) -> u32 {
  var rem = i;
  var off = P[at];
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let s = P[shapeAt + u32(d)];
    off += (rem % s) * P[at + 1u + u32(d)];
    rem = rem / s;
  }
  return off;
}
`;

/**
 * Row kernels: one 128-thread workgroup per row (`r`, with `l` the thread in the row), launched
 * with `workgroups: { threads: rows, size: 1 }`; `reduceSum`/`reduceMax` combine one value per
 * thread through shared memory. P[0] must hold the number of rows.
 */
export function rowEntry(body: string): string {
  return `${rowHelpers()}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= P[0]) { return; }
${body}
}`;
}

/** The shared-memory `reduceSum`/`reduceMax` of 128-thread row kernels (`rowEntry` includes them). */
export function rowHelpers(): string {
  return `
var<workgroup> red: array<f32, 128>;
fn reduceSum(v: f32, l: u32) -> f32 {
  red[l] = v;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s >>= 1u) { if (l < s) { red[l] += red[l + s]; } workgroupBarrier(); }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceMax(v: f32, l: u32) -> f32 {
  red[l] = v;
  workgroupBarrier();
  for (var s = 64u; s > 0u; s >>= 1u) { if (l < s) { red[l] = max(red[l], red[l + s]); } workgroupBarrier(); }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;
}

/** Entry point over a 2-D grid of 256-thread workgroups; `i` is the linear thread index. */
export function entry(body: string, size = 256): string {
  return `@compute @workgroup_size(${size})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${size}u;
${body}
}`;
}

export function f32bits(v: number): number {
  bitsF32[0] = v;
  return bitsU32[0]!;
}
const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

const sources = new Map<string, string>();

/**
 * A kernel's WGSL by a short key naming its specialisation, built once: the source string is then
 * the same object every call, which costs nothing to rebuild and is found at once by the backend.
 */
export function cachedSource(key: string, build: () => string): string {
  let code = sources.get(key);
  if (code === undefined) {
    if (sources.size >= 4096) sources.clear();
    sources.set(key, (code = build()));
  }
  return code;
}

/**
 * An elementwise kernel: inputs are views already broadcast to `out.shape`; `expr` maps their
 * compute-type values (named a0, a1, …) to the output's compute-type value; `extra` words follow the
 * view params, starting at P[extraAt] (`i` is the output index).
 */
export function elementwise(ctx: GpuKernelContext, inputs: readonly View[], out: OutputSpec, expr: (args: string[], extraAt: number) => string, extra: readonly number[] = [], extraKeys?: readonly number[]): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const { dims, strideSets } = collapse(out.shape, [contiguousStrides(out.shape), ...inputs.map((v) => v.strides)]);
  const rank = dims.length;
  const params: number[] = [n, rank, ...dims];
  // each input's first param word, and whether it is read contiguously (else its strides follow)
  const firstWord: number[] = [];
  const contiguousInput: boolean[] = [];
  let layout = '';
  for (let k = 0; k < inputs.length; k++) {
    const v = inputs[k]!;
    const strides = strideSets[k + 1]!;
    const outStrides = strideSets[0]!;
    let contiguous = true;
    for (let d = 0; d < strides.length; d++) if (strides[d] !== outStrides[d]) contiguous = false;
    firstWord.push(params.length);
    contiguousInput.push(contiguous);
    params.push(v.offset);
    layout += `${k === 0 ? '' : ','}${v.dtype}${contiguous ? 'c' : 's'}`;
    if (!contiguous) for (const st of strides) params.push(st);
  }
  const extraAt = params.length;
  for (const w of extra) params.push(w);
  const value = expr(inputs.map((_, k) => `a${k}`), extraAt);
  // the specialisation: expression, output dtype, rank, and each input's dtype and layout
  const code = cachedSource(`elementwise:${value}|${out.dtype}|${rank}|${layout}`, () => {
    const bindings: BindingDecl[] = [...inputs.map((v, k) => ({ name: `in${k}`, dtype: v.dtype })), { name: 'out', dtype: out.dtype, write: true }];
    const loads = inputs.map((v, k) => {
      const at = firstWord[k]!;
      return `  let a${k} = ${load(v.dtype, contiguousInput[k] ? `in${k}[P[${at}u] + i]` : `in${k}[strided(i, 2u, P[1], ${at}u)]`)};`;
    });
    return `${header(bindings)}
${entry(`  if (i >= P[0]) { return; }
${loads.join('\n')}
  out[i] = ${store(out.dtype, value)};`)}`;
  });
  const refs: GpuBindingRef[] = [...inputs.map((_, k) => ({ input: k })), { output: 0 }];
  const keyWords = extraKeys?.map((k) => extraAt + k);
  ctx.dispatch(keyWords === undefined ? { code, bindings: refs, params, workgroups: { threads: n, size: 256 } } : { code, bindings: refs, params, workgroups: { threads: n, size: 256 }, keyWords });
}

/** Params for a strided view: [offset, strides…] over `shape` (dims given by the caller). */
export function viewParams(v: View, shape: Shape): number[] {
  return [v.offset, ...shape.map((_, d) => v.strides[d]!)];
}

/** A word a kernel recorded with `fail()`, read back as the i32 it held. */
export function wordAsInt32(word: number): number {
  return word | 0;
}

/** A word a kernel recorded with `fail()`, read back as the f32 it held. */
export function wordAsFloat32(word: number): number {
  return new Float32Array(new Uint32Array([word]).buffer)[0]!;
}
