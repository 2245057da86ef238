import type { Tensor } from '../tensor.ts';
import { isGradEnabled, enableGrad, noGrad } from './mode.ts';
import { shapesEqual, fmt } from '../shape.ts';
import { sumToShape } from './sum-to-shape.ts';
import { tidy } from '../memory.ts';
import { accumulate_, canAccumulateInto } from '../ops/accumulate.ts';
import { scalarTensor } from '../ops/apply.ts';

/**
 * One recorded op: its inputs and the vector-Jacobian product that maps the output's gradient to
 * theirs. `needs[i]` says whether input i wants a gradient, so a vjp can skip work.
 */
export interface Node {
  readonly op: string;
  inputs: Tensor[] | null;
  vjp: ((grad: Tensor, needs: readonly boolean[]) => (Tensor | null | undefined)[]) | null;
}

/** Attach a node to `out` when grad mode is on and any input requires grad; returns `out`. */
export function record(
  out: Tensor,
  op: string,
  inputs: Tensor[],
  vjp: (grad: Tensor, needs: readonly boolean[]) => (Tensor | null | undefined)[],
): Tensor {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  out.node = { op, inputs, vjp };
  out.requiresGradFlag = true;
  return out;
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
  /** Record the backward pass itself (for higher-order gradients). */
  createGraph?: boolean;
  /**
   * Dispose each intermediate tensor of the graph (not the root, not leaves) as soon as backward
   * has no more use for it, as PyTorch frees saved activations: for a training step that keeps
   * only the loss, the activations do not all stay alive until the step's end. Tensors of the
   * graph the caller still holds (logits, say) are disposed too.
   */
  releaseIntermediates?: boolean;
}

/** Nodes reachable from `root`, each once, inputs before the tensors that use them. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i]!;
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Reverse-mode differentiation from `root`: each node's vjp runs once, in reverse topological
 * order, and leaf gradients are added into `.grad` (so calls accumulate, as in PyTorch).
 *
 * Memory: every gradient in flight is a handle of its own (a vjp may hand the same tensor to two
 * inputs; such a tensor is aliased), so a gradient is disposed as soon as its node has used it,
 * and only tensors created during this call are ever disposed here.
 */
export function backward(root: Tensor, grad: Tensor | undefined, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error('backward: the tensor does not require grad (no input had requiresGrad, or it was made under noGrad)');
  }
  if (grad !== undefined && !shapesEqual(grad.shape, root.shape)) {
    throw new Error(`backward: gradient shape ${fmt(grad.shape)} does not match output shape ${fmt(root.shape)}`);
  }
  if (grad === undefined && root.numel() !== 1) {
    throw new Error(`backward: grad can be implied only for a single-element output, got shape ${fmt(root.shape)}; pass a gradient`);
  }
  const keepIntermediates = options.createGraph === true;
  const run = keepIntermediates ? enableGrad : noGrad;
  run(() => {
    const firstOwnedId = root.nextId();
    const owned = (t: Tensor): Tensor => (t.id >= firstOwnedId && !held.has(t) ? t : t.alias());
    const held = new Set<Tensor>();
    const grads = new Map<Tensor, Tensor>();
    const put = (x: Tensor, g: Tensor): void => {
      const h = owned(g);
      held.add(h);
      grads.set(x, h);
    };
    const release = (g: Tensor): void => {
      held.delete(g);
      if (!keepIntermediates) g.dispose();
    };
    // d(root)/d(root) = 1: a 0-d root takes the device's shared constant (no fill dispatch)
    put(root, grad ?? (root.ndim === 0 ? scalarTensor(1, root.dtype, root.device) : root.onesLike()));
    const order = topoOrder(root);
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (g === undefined) continue;
      grads.delete(t);
      const node = t.node;
      if (node === null) {
        held.delete(g);
        t.accumulateGrad(g);
        continue;
      }
      if (t.retainsGrad) t.accumulateGrad(g.alias());
      if (node.vjp === null || node.inputs === null) {
        throw new Error(`backward: the graph through '${node.op}' was already freed by an earlier backward(); pass {retainGraph: true} to the first call`);
      }
      const inputs = node.inputs;
      const needs = inputs.map((x) => x.requiresGrad);
      const vjp = node.vjp;
      const computeGrads = (): (Tensor | null)[] => vjp(g, needs).map((gi, i) => {
        const x = inputs[i]!;
        if (!needs[i] || gi === null || gi === undefined) return null;
        if (!shapesEqual(gi.shape, x.shape)) gi = sumToShape(gi, x.shape, node.op);
        return gi.dtype === x.dtype ? gi : gi.to(x.dtype);
      });
      const inGrads = keepIntermediates ? computeGrads() : tidy(computeGrads);
      for (let i = 0; i < inputs.length; i++) {
        const gi = inGrads[i];
        if (gi === null || gi === undefined) continue;
        const x = inputs[i]!;
        const prev = grads.get(x);
        if (prev === undefined) put(x, gi);
        else {
          if (!keepIntermediates && canAccumulateInto(prev, gi)) accumulate_(prev, gi); // prev stays held
          else {
            put(x, prev.add(gi));
            release(prev);
          }
          if (gi !== g && !held.has(gi) && gi.id >= firstOwnedId && !keepIntermediates) gi.dispose();
        }
      }
      release(g);
      if (!options.retainGraph) {
        node.vjp = null;
        node.inputs = null;
        // every consumer of t came before it in this order, and its own vjp has run
        if (options.releaseIntermediates && !keepIntermediates && t !== root) t.dispose();
      }
    }
  });
}
