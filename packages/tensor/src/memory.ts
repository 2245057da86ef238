import type { Tensor } from './tensor.ts';
import { getBackend } from './backend/registry.ts';
import type { Device, MemoryStats } from './backend/types.ts';

/** Open `tidy` scopes, innermost last; each holds the tensors created while it was open. */
const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Take `t` out of every open scope so no `tidy` disposes it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** The tensors in `value`: itself, or inside arrays, Maps and plain objects. */
export function collectTensors(value: unknown, into: Set<Tensor>, seen = new Set<unknown>()): Set<Tensor> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return into;
  seen.add(value);
  if (isTensor(value)) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into, seen);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, into, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectTensors(v, into, seen);
  return into;
}

function isTensor(v: object): v is Tensor {
  return (v as { isTensor?: boolean }).isTensor === true;
}

/**
 * Run `fn` and dispose every tensor it created except those it returns (in an array, a Map or a
 * plain object) and those passed to `keep()`. Scopes nest; returned tensors join the outer scope.
 * `fn` must be synchronous: await readbacks after the scope.
 * @example
 * const loss = tidy(() => { const l = model.forward(x, y).loss; l.backward(); return l; });
 * console.log(await loss.item()); loss.dispose();
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy: the function returned a Promise; tidy scopes are synchronous (await readbacks after the scope)');
  }
  const kept = collectTensors(result, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Bytes held by live storages on a device (a training step must leave it flat). */
export function liveBytes(device: Device = 'cpu'): number {
  return getBackend(device).liveBytes();
}

/**
 * Live, peak and pooled bytes of a device (PyTorch's `torch.cuda.memory_stats` in small).
 * @example const { liveBytes, peakBytes } = memoryStats('cpu');
 */
export function memoryStats(device: Device = 'cpu'): MemoryStats {
  return getBackend(device).memoryStats();
}

/** Measure the peak from now on (`memoryStats(device).peakBytes`). @example resetPeakMemory('gpu') */
export function resetPeakMemory(device: Device = 'cpu'): void {
  getBackend(device).resetPeak();
}

/**
 * Clear the gradients of these tensors (disposing them), as `optimizer.zero_grad(set_to_none=True)`.
 * @example zeroGrad(model.parameters())
 */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) {
    t.grad?.dispose();
    t.grad = null;
  }
}

/** Bytes `t`'s storage occupies in its device's live-bytes count (the GPU rounds to size classes). */
export function storageBytes(t: Tensor): number {
  return getBackend(t.device).storageBytes(t.storage);
}
