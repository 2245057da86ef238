/**
 * Tensors larger than one storage binding. WebGPU caps a binding (128 MiB on lavapipe and in
 * browsers' default limits) far below the largest buffer (4 GiB), and GPT-2's token embedding is
 * 154 MB. Such a buffer is bound as several windows of at most `windowBytes` each, and a kernel's
 * WGSL is rewritten to reach its elements through functions that pick the window:
 *
 *   `x[i]` → `x__at(u32(i))`, `x[i] = v;` → `x__put(u32(i), v);`, `x[i] += v;` → a read and a put,
 *   `atomicAdd(&x[i], v)` → `x__atomicAdd(u32(i), v)` (every atomic built-in, compare-exchange
 *   included).
 *
 * Kernels keep indexing the whole tensor; only dispatches that bind an oversized buffer pay for the
 * window test, and the rewritten source is a separate pipeline. Anything else done with such a
 * binding (a pointer kept in a variable, arrayLength, writing one component) is refused by name.
 */

/** How one binding of the original source is bound after rewriting. */
export interface WindowedBinding {
  /** The binding of the original source. */
  binding: number;
  /** Which window of it (0 for a binding that is not split). */
  window: number;
  /** How many windows it has. */
  windows: number;
}

export interface WindowedSource {
  code: string;
  /** The bindings of the rewritten source in order; the params buffer comes after them. */
  layout: WindowedBinding[];
}

interface Declaration {
  binding: number;
  access: string;
  name: string;
  elem: string;
}

const DECLARATION = /@group\(0\) @binding\((\d+)\) var<storage, (read|read_write)> (\w+): array<([^;]+)>;/g;
const ATOMICS = ['atomicLoad', 'atomicStore', 'atomicAdd', 'atomicSub', 'atomicMax', 'atomicMin', 'atomicAnd', 'atomicOr', 'atomicXor', 'atomicExchange', 'atomicCompareExchangeWeak'] as const;
type AtomicName = typeof ATOMICS[number];

/** Bytes per element of a storage array's element type (`f32`, `vec4<f32>`, `atomic<u32>` …). */
export function elementBytes(elem: string): number {
  const e = elem.replace(/\s+/g, '');
  const atomic = /^atomic<(\w+)>$/.exec(e);
  if (atomic !== null) return elementBytes(atomic[1]!);
  if (e === 'f32' || e === 'i32' || e === 'u32') return 4;
  if (e === 'f16') return 2;
  const vec = /^vec([24])<(\w+)>$/.exec(e) ?? /^vec([24])([fhiu])$/.exec(e);
  if (vec !== null) {
    const scalar = vec[2]!.length === 1 ? { f: 'f32', h: 'f16', i: 'i32', u: 'u32' }[vec[2]!]! : vec[2]!;
    return Number(vec[1]) * elementBytes(scalar);
  }
  throw new Error(`webgpu windows: storage arrays of ${elem} cannot be split into windows`);
}

/**
 * Rewrite `code` so that each binding `b` with `windows.get(b) > 1` is bound as that many windows of
 * `windowBytes` (the last one shorter). `windowBytes` must be a multiple of 16 (every element size).
 */
export function windowedSource(source: string, windows: ReadonlyMap<number, number>, windowBytes: number): WindowedSource {
  // comments may name a binding: drop them first
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  if (windowBytes <= 0 || windowBytes % 16 !== 0) throw new Error(`webgpu windows: a window of ${windowBytes} bytes is not a positive multiple of 16`);
  // in source order; each is replaced by a marker while the body is rewritten, then by its new text
  const decls: Declaration[] = [...code.matchAll(DECLARATION)].map((m) => ({ binding: Number(m[1]), access: m[2]!, name: m[3]!, elem: m[4]! }));
  const params = decls.find((d) => d.name === 'P');
  if (params === undefined) throw new Error('webgpu windows: the kernel declares no params binding P');
  const bound = decls.filter((d) => d !== params).sort((a, b) => a.binding - b.binding);
  bound.forEach((d, i) => {
    if (d.binding !== i) throw new Error(`webgpu windows: bindings are not numbered 0…${bound.length - 1} (found ${d.binding} at ${i})`);
  });
  for (const b of windows.keys()) if (b >= bound.length) throw new Error(`webgpu windows: binding ${b} is not declared`);

  const layout: WindowedBinding[] = [];
  const declarationText = new Map<Declaration, string>();
  const split: { decl: Declaration; count: number; perWindow: number }[] = [];
  for (const d of bound) {
    const count = Math.max(1, windows.get(d.binding) ?? 1);
    const lines: string[] = [];
    for (let w = 0; w < count; w++) {
      lines.push(`@group(0) @binding(${layout.length}) var<storage, ${d.access}> ${count > 1 ? windowName(d.name, w) : d.name}: array<${d.elem}>;`);
      layout.push({ binding: d.binding, window: w, windows: count });
    }
    declarationText.set(d, lines.join('\n'));
    if (count > 1) split.push({ decl: d, count, perWindow: windowBytes / elementBytes(d.elem) });
  }
  declarationText.set(params, `@group(0) @binding(${layout.length}) var<storage, read> P: array<u32>;`);

  let k = 0;
  const masked = code.replace(DECLARATION, () => `\u0000${k++}\u0000`);
  const used = new Map<string, Set<AtomicName>>();
  const out = rewriteAccesses(masked, new Set(split.map((s) => s.decl.name)), used)
    .replace(/\u0000(\d+)\u0000/g, (_, i: string) => declarationText.get(decls[Number(i)]!)!);
  const helpers = split.map((s) => accessors(s.decl, s.count, s.perWindow, used.get(s.decl.name) ?? new Set()));
  return { code: `${out}\n${helpers.join('\n')}\n`, layout };
}

function windowName(name: string, w: number): string {
  return `${name}__w${w}`;
}

/**
 * Where `code` names one of the split arrays: not a local of the same name (a parameter, let, var
 * or const in an enclosing scope shadows it), not a member access, not a declaration (`name:`).
 */
function references(code: string, names: ReadonlySet<string>): { at: number; name: string }[] {
  const token = /[{}]|\bfn\s+\w+\s*\(|\b(?:let|var|const)\s+(\w+)|(?<![\w.])([A-Za-z_]\w*)/g;
  const scopes: Set<string>[] = [new Set()];
  let params: Set<string> | null = null;
  const hits: { at: number; name: string }[] = [];
  for (const m of code.matchAll(token)) {
    const t = m[0];
    if (t === '{') {
      scopes.push(params ?? new Set());
      params = null;
    } else if (t === '}') {
      if (scopes.length > 1) scopes.pop();
    } else if (t.startsWith('fn')) {
      const open = m.index + t.length - 1;
      params = new Set([...code.slice(open + 1, matching(code, open)).matchAll(/(\w+)\s*:/g)].map((p) => p[1]!));
    } else if (m[1] !== undefined) {
      scopes[scopes.length - 1]!.add(m[1]);
    } else if (m[2] !== undefined && names.has(m[2])) {
      const name = m[2];
      if (scopes.some((sc) => sc.has(name))) continue;
      if (/^\s*:(?!:)/.test(code.slice(m.index + name.length, m.index + name.length + 8))) continue;
      hits.push({ at: m.index, name });
    }
  }
  return hits;
}

/** Replace every access to the split arrays in `code`, the last one first (so nested indices are done before their containers). */
function rewriteAccesses(code: string, names: ReadonlySet<string>, used: Map<string, Set<AtomicName>>): string {
  if (names.size === 0) return code;
  const hits = references(code, names).reverse();
  let s = code;
  for (const { at, name } of hits) {
    let open = at + name.length;
    while (/\s/.test(s[open] ?? '')) open++;
    const atomic = atomicCall(s, at);
    if (s[open] !== '[') throw new Error(`webgpu windows: '${name}' is used without an index (${excerpt(s, at)}); a split binding can only be indexed`);
    const close = matching(s, open);
    const index = `u32(${s.slice(open + 1, close)})`;
    if (atomic !== null) {
      const callClose = matching(s, atomic.open);
      const rest = s.slice(close + 1, callClose).replace(/^\s*,?\s*/, '');
      let set = used.get(name);
      if (set === undefined) used.set(name, (set = new Set()));
      set.add(atomic.fn);
      s = `${s.slice(0, atomic.start)}${name}__${atomic.fn}(${index}${rest === '' ? '' : `, ${rest}`})${s.slice(callClose + 1)}`;
      continue;
    }
    let after = close + 1;
    while (/\s/.test(s[after] ?? '')) after++;
    const op = /^(<<|>>|[+\-*/%&|^])?=(?!=)/.exec(s.slice(after));
    if (op !== null) {
      const valueStart = after + op[0].length;
      const end = statementEnd(s, valueStart);
      const value = s.slice(valueStart, end).trim();
      const replacement = op[1] === undefined
        ? `${name}__put(${index}, ${value});`
        : `{ let w__i = ${index}; ${name}__put(w__i, ${name}__at(w__i) ${op[1]} (${value})); }`;
      s = `${s.slice(0, at)}${replacement}${s.slice(end + 1)}`;
      continue;
    }
    if (/^(\.\w+|\[[^\]]*\])\s*(<<|>>|[+\-*/%&|^])?=(?!=)/.test(s.slice(after))) {
      throw new Error(`webgpu windows: '${name}' has a component assigned (${excerpt(s, at)}); a split binding is written one element at a time`);
    }
    s = `${s.slice(0, at)}${name}__at(${index})${s.slice(close + 1)}`;
  }
  return s;
}

/** When the access at `at` is `atomicX(&name[…] …)`, that call's start, name and opening parenthesis. */
function atomicCall(s: string, at: number): { start: number; open: number; fn: AtomicName } | null {
  const before = /(atomic\w+)\s*\(\s*&\s*$/.exec(s.slice(Math.max(0, at - 64), at));
  if (before === null) {
    if (/&\s*$/.test(s.slice(Math.max(0, at - 8), at))) throw new Error(`webgpu windows: a pointer into a split binding (${excerpt(s, at)}) is only supported as an atomic built-in's argument`);
    return null;
  }
  const fn = before[1]! as AtomicName;
  if (!ATOMICS.includes(fn)) throw new Error(`webgpu windows: ${fn} on a split binding is not supported`);
  const start = at - before[0].length;
  return { start, open: s.indexOf('(', start), fn };
}

/** The index of the bracket or parenthesis closing the one at `open`. */
function matching(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new Error(`webgpu windows: unbalanced brackets after ${excerpt(s, open)}`);
}

/** The index of the `;` ending the statement whose value starts at `from`. */
function statementEnd(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ';' && depth === 0) return i;
  }
  throw new Error(`webgpu windows: an assignment without ';' after ${excerpt(s, from)}`);
}

function excerpt(s: string, at: number): string {
  return s.slice(Math.max(0, at - 20), at + 30).replace(/\s+/g, ' ').trim();
}

/** The functions that reach element i of a split array: a read, a write and the atomic built-ins the kernel uses. */
function accessors(d: Declaration, count: number, perWindow: number, atomics: ReadonlySet<AtomicName>): string {
  const atomicElem = /^\s*atomic<\s*(\w+)\s*>\s*$/.exec(d.elem);
  const value = atomicElem === null ? d.elem : atomicElem[1]!;
  // each window in turn: `if (i < end) { … }`, the last unconditional
  const chain = (body: (ref: string) => string) => Array.from({ length: count }, (_, w) => {
    const ref = `${windowName(d.name, w)}[${w === 0 ? 'i' : `i - ${w * perWindow}u`}]`;
    return w === count - 1 ? `  ${body(ref)}` : `  if (i < ${(w + 1) * perWindow}u) { ${body(ref)} }`;
  }).join('\n');
  const fns: string[] = [];
  if (atomicElem === null) {
    fns.push(`fn ${d.name}__at(i: u32) -> ${value} {\n${chain((ref) => `return ${ref};`)}\n}`);
    if (d.access === 'read_write') fns.push(`fn ${d.name}__put(i: u32, v: ${value}) {\n${chain((ref) => `${ref} = v; return;`)}\n}`);
  }
  for (const fn of atomics) {
    if (fn === 'atomicLoad') fns.push(`fn ${d.name}__atomicLoad(i: u32) -> ${value} {\n${chain((ref) => `return atomicLoad(&${ref});`)}\n}`);
    else if (fn === 'atomicStore') fns.push(`fn ${d.name}__atomicStore(i: u32, v: ${value}) {\n${chain((ref) => `atomicStore(&${ref}, v); return;`)}\n}`);
    else if (fn === 'atomicCompareExchangeWeak') {
      fns.push(`struct ${d.name}__exchange { old_value: ${value}, exchanged: bool }
fn ${d.name}__atomicCompareExchangeWeak(i: u32, cmp: ${value}, v: ${value}) -> ${d.name}__exchange {
${chain((ref) => `let r = atomicCompareExchangeWeak(&${ref}, cmp, v); return ${d.name}__exchange(r.old_value, r.exchanged);`)}
}`);
    } else fns.push(`fn ${d.name}__${fn}(i: u32, v: ${value}) -> ${value} {\n${chain((ref) => `return ${fn}(&${ref}, v);`)}\n}`);
  }
  return fns.join('\n');
}
