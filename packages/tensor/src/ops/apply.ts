import type { DType } from '../dtype.ts';
import { promoteTypes, promoteWithScalar } from '../dtype.ts';
import { full } from './create.ts';
import { getBackend } from '../backend/registry.ts';
import type { Device, Kernel, OutputSpec, View } from '../backend/types.ts';
import { Tensor, type TensorLike } from '../tensor.ts';

/** Whether `t` views all of its storage, contiguously from element 0: what in-place kernels may write. */
export function ownsWholeStorage(t: Tensor): boolean {
  return t.offset === 0 && t.numel() === t.storage.length && t.isContiguous();
}

/**
 * Free the handles an op made for its own use (`temps`) once its result `out` is outside any
 * recorded graph: then no backward closure can need them, and their memory goes back at once
 * instead of when the garbage collector finds them. Handles that are `out` itself, or any of `keep`
 * (the op's inputs, which a reshape may return unchanged), are left alone.
 */
export function disposeIfUnrecorded(out: Tensor, temps: readonly Tensor[], keep: readonly Tensor[] = []): void {
  if (out.requiresGrad) return;
  for (const t of temps) if (t !== out && !keep.includes(t)) t.dispose();
}

/** Throw unless every tensor lives on the same device; returns that device. */
export function sameDevice(op: string, tensors: readonly Tensor[]): Device {
  const device = tensors[0]!.device;
  for (const t of tensors) {
    t.assertLive(op);
    if (t.device !== device) {
      throw new Error(`${op}: expected all tensors on the same device, got ${tensors.map((x) => x.device).join(' and ')} (move one with .to('${device}'))`);
    }
  }
  return device;
}

/**
 * Run a kernel and wrap its outputs as contiguous tensors (no autograd). Inputs are tensors or
 * internal views of them (broadcast, permuted); the device is theirs unless given.
 */
export function runKernel<A>(kernel: Kernel<A>, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A, device?: Device): Tensor[] {
  const dev = device ?? inputs[0]?.storage.device;
  if (dev === undefined) throw new Error(`${kernel.name}: no input to take the device from`);
  for (const v of inputs) {
    if (v.storage.freed) throw new Error(`${kernel.name}: an input was used after dispose()`);
    if (v.storage.device !== dev) throw new Error(`${kernel.name}: expected all tensors on ${dev}, got one on ${v.storage.device}`);
  }
  const storages = getBackend(dev).exec(kernel, inputs, outputs, attrs);
  return storages.map((s, i) => new Tensor(s, outputs[i]!.shape, undefined, 0, outputs[i]!.dtype));
}

/**
 * A 0-d tensor holding `value`, made by a fill kernel (no upload, so no GPU flush). Where the
 * backend keeps constants (the GPU), each distinct value is filled once and shared.
 */
export function scalarTensor(value: number | boolean, dtype: DType, device: Device): Tensor {
  const v = typeof value === 'boolean' ? Number(value) : value;
  const backend = getBackend(device);
  if (backend.constant !== undefined) {
    const storage = backend.constant(`${dtype}:${Object.is(v, -0) ? '-0' : v}`, () => {
      const t = full([], v, { dtype, device });
      const s = t.storage;
      s.refs++;
      t.dispose();
      s.refs--;
      return s;
    });
    if (storage !== null) return new Tensor(storage, []);
  }
  return full([], v, { dtype, device });
}

/**
 * Turn the operands of an elementwise op into tensors of one common dtype on one device:
 * plain numbers become 0-d tensors with PyTorch's scalar promotion, tensors are promoted.
 */
export function coerceOperands(op: string, operands: readonly TensorLike[]): Tensor[] {
  const tensors = operands.filter((x): x is Tensor => x instanceof Tensor);
  if (tensors.length === 0) throw new Error(`${op}: at least one operand must be a tensor`);
  const device = sameDevice(op, tensors);
  let dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  for (const x of operands) if (!(x instanceof Tensor)) dtype = promoteWithScalar(dtype, x);
  return operands.map((x) => {
    if (x instanceof Tensor) return x.dtype === dtype ? x : x.to(dtype);
    if (typeof x !== 'number' && typeof x !== 'boolean') {
      throw new Error(`${op}: expected a tensor or a number, got ${typeof x}`);
    }
    return scalarTensor(x, dtype, device);
  });
}
