import { isCapturing, keep, onReplay, tidy, zeros, type Tensor } from '@llmts/tensor';

/** A group of parameters sharing hyper-parameters (e.g. no weight decay for biases and norms). */
export interface ParamGroup<H> {
  params: Tensor[];
  options: H;
}

export type ParamsArg<H> = Iterable<Tensor> | readonly ({ params: Iterable<Tensor> } & Partial<H>)[];

/** What `stateDict()` returns: tensors by name plus JSON-able hyper-parameters and step. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  meta: { type: string; step: number; groups: Record<string, unknown>[]; paramCounts: number[]; paramSteps: number[][] };
}

/**
 * Base of the optimizers: parameter groups, `zeroGrad`, per-parameter state tensors, and a state
 * dict for resuming (state is stored by position: group index and parameter index).
 */
export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  /** Number of `step()` calls so far. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, Record<string, Tensor>>();
  /** Updates applied to each parameter (a parameter without a gradient does not advance). */
  protected readonly paramSteps = new Map<Tensor, number>();

  constructor(params: ParamsArg<H>, readonly defaults: H) {
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const isGroups = list.every((g) => g !== null && typeof g === 'object' && 'params' in (g as object) && !('isTensor' in (g as object)));
    const groups = isGroups ? (list as ({ params: Iterable<Tensor> } & Partial<H>)[]) : [{ params: list as Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      const { params, ...overrides } = g;
      const ps = [...params];
      for (const p of ps) {
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group (group ${gi})`);
        if (!p.requiresGrad) throw new Error(`${this.constructor.name}: parameter of shape [${p.shape}] in group ${gi} does not require grad`);
        seen.add(p);
      }
      return { params: ps, options: { ...defaults, ...(overrides as Partial<H>) } };
    });
  }

  /** Clear every parameter's gradient (set to none, freeing its memory). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Apply one update to every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    if (isCapturing()) onReplay(() => { this.stepCount++; });
    for (const g of this.paramGroups) for (const p of g.params) if (p.grad !== null) this.update(p, p.grad, g.options);
  }

  protected abstract update(p: Tensor, grad: Tensor, options: H): void;

  /** A state tensor for `p` (created zero-filled on first use, kept out of tidy scopes). */
  protected stateOf(p: Tensor, name: string): Tensor {
    let s = this.state.get(p);
    if (s === undefined) this.state.set(p, (s = {}));
    let t = s[name];
    if (t === undefined) s[name] = t = keep(zeros(p.shape, { dtype: p.dtype === 'float16' ? 'float32' : p.dtype, device: p.device }));
    return t;
  }

  /** Count one more update of `p`; returns its 1-based step. */
  protected advance(p: Tensor): number {
    const step = (this.paramSteps.get(p) ?? 0) + 1;
    this.paramSteps.set(p, step);
    return step;
  }

  protected hasState(p: Tensor, name: string): boolean {
    return this.state.get(p)?.[name] !== undefined;
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
  }

  /**
   * Free the optimizer's state tensors (moments, momentum buffers); the parameters are untouched.
   * The optimizer starts afresh if stepped again.
   * @example opt.dispose()
   */
  dispose(): void {
    this.disposeState();
    this.paramSteps.clear();
    this.stepCount = 0;
  }

  /** Set the learning rate of every group (schedules call this each iteration). */
  setLr(lr: number): void {
    for (const g of this.paramGroups) g.options.lr = lr;
  }

  /** State tensors by `state.<group>.<index>.<name>`, with step and hyper-parameters. */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, pi) => {
      for (const [name, t] of Object.entries(this.state.get(p) ?? {})) tensors[`state.${gi}.${pi}.${name}`] = t;
    }));
    return {
      tensors,
      meta: {
        type: this.constructor.name,
        step: this.stepCount,
        groups: this.paramGroups.map((g) => ({ ...g.options })),
        paramCounts: this.paramGroups.map((g) => g.params.length),
        paramSteps: this.paramGroups.map((g) => g.params.map((p) => this.paramSteps.get(p) ?? 0)),
      },
    };
  }

  /** Restore from `stateDict()` (same parameter layout); checked before anything changes. */
  loadStateDict(state: OptimizerState): void {
    const { meta, tensors } = state;
    if (meta.type !== this.constructor.name) throw new Error(`loadStateDict: state is for ${meta.type}, this is ${this.constructor.name}`);
    const counts = this.paramGroups.map((g) => g.params.length);
    if (meta.paramCounts.length !== counts.length || meta.paramCounts.some((c, i) => c !== counts[i])) {
      throw new Error(`loadStateDict: parameter groups differ: state has [${meta.paramCounts}] parameters per group, optimizer has [${counts}]`);
    }
    for (const [key, t] of Object.entries(tensors)) {
      const m = /^state\.(\d+)\.(\d+)\.(\w+)$/.exec(key);
      if (m === null) throw new Error(`loadStateDict: unexpected key '${key}'`);
      const p = this.paramGroups[Number(m[1])]?.params[Number(m[2])];
      if (p === undefined) throw new Error(`loadStateDict: '${key}' names no parameter`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`loadStateDict: '${key}' has shape [${t.shape}] but the parameter has [${p.shape}]`);
      }
    }
    // copies first: the given tensors may be this optimizer's own state (`loadStateDict(stateDict())`)
    const loaded = Object.entries(tensors).map(([key, t]) => {
      const [, gi, pi, name] = /^state\.(\d+)\.(\d+)\.(\w+)$/.exec(key)!;
      const p = this.paramGroups[Number(gi)]!.params[Number(pi)]!;
      return { p, name: name!, moved: keep(tidy(() => t.to(p.device).to(p.dtype === 'float16' ? 'float32' : p.dtype).clone())) };
    });
    this.disposeState();
    for (const { p, name, moved } of loaded) {
      let s = this.state.get(p);
      if (s === undefined) this.state.set(p, (s = {}));
      s[name] = moved;
    }
    this.stepCount = meta.step;
    this.paramSteps.clear();
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, pi) => {
      const n = meta.paramSteps?.[gi]?.[pi] ?? meta.step;
      if (n > 0) this.paramSteps.set(p, n);
    }));
    meta.groups.forEach((g, i) => Object.assign(this.paramGroups[i]!.options, g));
  }
}
