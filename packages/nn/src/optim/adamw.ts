import { isCapturing, onReplay, type Tensor } from '@llmts/tensor';
import { adamUpdateMany_, type AdamItem } from '@llmts/tensor/internal';
import { Optimizer, type ParamsArg } from './optimizer.ts';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions>, defaultDecay: number) {
    const o: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: defaultDecay, ...options };
    if (!(o.lr >= 0)) throw new Error(`Adam: invalid learning rate ${o.lr}`);
    if (!(o.betas[0] >= 0 && o.betas[0] < 1 && o.betas[1] >= 0 && o.betas[1] < 1)) throw new Error(`Adam: betas must be in [0, 1), got [${o.betas}]`);
    super(params, o);
  }

  /**
   * Every parameter with a gradient in one multi-tensor update (a few GPU dispatches for all of
   * them). Inside `captureGraph`, each replay counts a step and takes the groups' current
   * learning rate and settings, as calling `step()` again would.
   */
  override step(): void {
    this.stepCount++;
    const items: AdamItem[] = [];
    const options: AdamOptions[] = [];
    for (const g of this.paramGroups) for (const p of g.params) if (p.grad !== null) {
      items.push(this.item(p, p.grad, g.options));
      options.push(g.options);
    }
    adamUpdateMany_(items);
    if (isCapturing()) {
      onReplay(() => {
        this.stepCount++;
        items.forEach((it, i) => Object.assign(it.hyper, this.hyperOf(options[i]!, this.advance(it.param))));
      });
    }
  }

  protected update(p: Tensor, grad: Tensor, o: AdamOptions): void {
    adamUpdateMany_([this.item(p, grad, o)]);
  }

  private item(p: Tensor, grad: Tensor, o: AdamOptions): AdamItem {
    const expAvg = this.stateOf(p, 'expAvg');
    const expAvgSq = this.stateOf(p, 'expAvgSq');
    return { param: p, grad, expAvg, expAvgSq, hyper: this.hyperOf(o, this.advance(p)) };
  }

  private hyperOf(o: AdamOptions, step: number): AdamItem['hyper'] {
    return { lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, step, decoupled: this.decoupled };
  }
}

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's defaults
 * (lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.01).
 * @example
 * const opt = new AdamW([
 *   { params: decay, weightDecay: 0.1 },
 *   { params: noDecay, weightDecay: 0 },
 * ], { lr: 6e-4, betas: [0.9, 0.95] });
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, 0.01);
  }
}

/** Adam with L2 weight decay added to the gradient (PyTorch's Adam; weightDecay 0 by default). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, 0);
  }
}
