/** Whether new ops are recorded on the tape. */
let enabled = true;

/** Whether ops are being recorded for autograd (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return enabled;
}

function scoped<T>(value: boolean, fn: () => T): T {
  const before = enabled;
  enabled = value;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = before;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => { enabled = before; }) as T;
  }
  enabled = before;
  return result;
}

/**
 * Run `fn` without recording gradients (PyTorch's `torch.no_grad()`); returns what `fn` returns.
 * An async `fn` keeps grad mode off until its promise settles.
 * @example const logits = noGrad(() => model.forward(idx));
 */
export function noGrad<T>(fn: () => T): T {
  return scoped(false, fn);
}

/** Re-enable recording inside a `noGrad` region. */
export function enableGrad<T>(fn: () => T): T {
  return scoped(true, fn);
}
