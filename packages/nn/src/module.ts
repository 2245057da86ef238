import { Tensor, isFloat, keep, noGrad, tidy, type Device, type DType } from '@llmts/tensor';
import { fmt } from './format.ts';

/**
 * A trainable tensor: a Tensor that requires grad and that modules discover as a parameter.
 * It shares memory with the tensor it wraps.
 * @example this.weight = new Parameter(randn([out, inp]).mul(0.02));
 */
export class Parameter extends Tensor {
  constructor(t: Tensor, requiresGrad = true) {
    super(t.storage, t.shape, t.strides, t.offset, t.dtype);
    this.requiresGrad = requiresGrad;
    keep(this); // parameters outlive any tidy() scope they are made in
  }
}

interface BufferInfo {
  persistent: boolean;
}

/**
 * Base class of layers and models, as `torch.nn.Module`: parameters (`Parameter` properties),
 * buffers (`registerBuffer`) and child modules (Module properties, arrays of modules) are found
 * automatically, so subclasses just assign them.
 * @example
 * class MLP extends Module {
 *   fc = new Linear(4, 8);
 *   out = new Linear(8, 2);
 *   forward(x: Tensor) { return this.out.forward(this.fc.forward(x).relu()); }
 * }
 */
export abstract class Module {
  /** Training mode: dropout is active. Set by `train()` / `eval()`. */
  training = true;
  private readonly bufferInfo = new Map<string, BufferInfo>();

  /** Register a non-trainable tensor (e.g. a causal mask) saved in the state dict unless not persistent. */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    if (value !== null && value instanceof Parameter) throw new Error(`registerBuffer: '${name}' is a Parameter; assign it as a property instead`);
    (this as unknown as Record<string, unknown>)[name] = value;
    this.bufferInfo.set(name, { persistent: options.persistent ?? true });
  }

  /** Direct children, named by property (array items as `name.i`). */
  *namedChildren(): Generator<[string, Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (value[i] instanceof Module) yield [`${key}.${i}`, value[i] as Module];
      }
    }
  }

  /** Every module in the tree (this one first), with dotted names. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** Every module in the tree, this one first. */
  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Own parameters (not children's). */
  *ownParameters(): Generator<[string, Parameter]> {
    for (const [key, value] of Object.entries(this)) if (value instanceof Parameter) yield [key, value];
  }

  /**
   * Parameters with dotted names, each once even when shared (tied weights keep the first name).
   * @example for (const [name, p] of model.namedParameters()) console.log(name, p.shape)
   */
  namedParameters(options: { removeDuplicate?: boolean } = {}): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [key, p] of m.ownParameters()) {
        if (options.removeDuplicate !== false && seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${key}` : key, p]);
      }
    }
    return out;
  }

  /** Every parameter once (shared ones counted once). @example new AdamW(model.parameters()) */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Buffers with dotted names (null buffers are skipped). */
  namedBuffers(options: { persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [key, info] of m.bufferInfo) {
        const t = (m as unknown as Record<string, unknown>)[key];
        if (!(t instanceof Tensor) || (options.persistentOnly && !info.persistent)) continue;
        out.push([prefix ? `${prefix}.${key}` : key, t]);
      }
    }
    return out;
  }

  /** Number of parameter elements (shared ones counted once). @example model.numParameters() */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters().filter((p) => !options.trainableOnly || p.requiresGrad).reduce((n, p) => n + p.numel(), 0);
  }

  /** Training mode on (or off with `train(false)`) for this module and all children. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: dropout off. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Free every parameter, gradient and buffer of this module and its children (the module is
   * unusable afterwards).
   * @example model.dispose()
   */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }

  /** Clear every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Move parameters and buffers (keeping their identity) to a device or float dtype. */
  to(target: Device | DType): this {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      if (target !== 'cpu' && target !== 'gpu' && (t.dtype === 'int32' || t.dtype === 'bool')) continue;
      tidy(() => noGrad(() => {
        const moved = t.to(target);
        if (moved !== t) t.setData(moved);
      }));
    }
    return this;
  }

  /** Apply `fn` to every module (children first), e.g. custom weight init. */
  apply(fn: (m: Module) => void): this {
    for (const [, c] of this.namedChildren()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Parameters and persistent buffers by dotted name (tied parameters appear under every name,
   * as in PyTorch). The tensors are the live ones: copy before mutating.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.namedParameters({ removeDuplicate: false })) out[name] = p;
    for (const [name, b] of this.namedBuffers({ persistentOnly: true })) out[name] = b;
    return out;
  }

  /**
   * Copy values from a state dict into this module's parameters and buffers. Names and shapes are
   * checked first (strict: missing and unexpected names are errors too), so a failed load changes
   * nothing.
   */
  loadStateDict(state: Record<string, Tensor>, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    const mismatched = Object.keys(own)
      .filter((k) => k in state && (state[k]!.ndim !== own[k]!.ndim || state[k]!.shape.some((d, i) => d !== own[k]!.shape[i])))
      .map((k) => `${k}: checkpoint ${fmt(state[k]!.shape)} vs model ${fmt(own[k]!.shape)}`);
    // an integer tensor where the model has floats (or the reverse) is a wrong file, not a cast
    const wrongDtype = Object.keys(own)
      .filter((k) => k in state && isFloat(state[k]!.dtype) !== isFloat(own[k]!.dtype))
      .map((k) => `${k}: checkpoint ${state[k]!.dtype} vs model ${own[k]!.dtype}`);
    if (mismatched.length > 0 || wrongDtype.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      if (mismatched.length) parts.push(`size mismatch: ${mismatched.join('; ')}`);
      if (wrongDtype.length) parts.push(`dtype mismatch: ${wrongDtype.join('; ')}`);
      throw new Error(`loadStateDict: ${parts.join('; ')}`);
    }
    for (const [k, target] of Object.entries(own)) {
      const src = state[k];
      if (src === undefined) continue;
      tidy(() => noGrad(() => {
        const value = src.to(target.device).to(target.dtype).contiguous();
        target.setData(value === src ? src.clone() : value);
      }));
    }
    return { missing, unexpected };
  }

  /** A readable tree of the module, like PyTorch's repr. */
  toString(): string {
    const lines = [`${this.constructor.name}(${this.extraRepr()}`];
    for (const [name, c] of this.namedChildren()) lines.push(`  (${name}): ${c.toString().split('\n').join('\n  ')}`);
    return lines.length === 1 ? `${lines[0]})` : `${lines.join('\n')}\n)`;
  }

  protected extraRepr(): string {
    return '';
  }
}
