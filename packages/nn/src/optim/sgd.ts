import { isCapturing, onReplay, type Tensor } from '@llmts/tensor';
import { sgdUpdate_ } from '@llmts/tensor/internal';
import { Optimizer, type ParamsArg } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay
 * (PyTorch's formulas). @example const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    const o = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options };
    if (!(o.lr >= 0)) throw new Error(`SGD: invalid learning rate ${o.lr}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
    super(params, o);
  }

  protected update(p: Tensor, grad: Tensor, o: SGDOptions): void {
    const first = o.momentum !== 0 && !this.hasState(p, 'momentumBuffer');
    const buf = o.momentum !== 0 ? this.stateOf(p, 'momentumBuffer') : null;
    const hyper = { ...o, first };
    sgdUpdate_(p, grad, buf, hyper);
    // a captured step's replays take the group's current settings (the kernel reads `hyper` again)
    if (isCapturing()) onReplay(() => { Object.assign(hyper, o); });
  }
}
