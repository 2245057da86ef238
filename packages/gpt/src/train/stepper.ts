/**
 * The steps the trainers take (`llmts train`, `llmts tune`, the page's TextTrainer). On the GPU a
 * step is a captured graph (`captureGraph`, as CUDA graphs are used in PyTorch): the first step
 * runs op by op (it makes AdamW's state), the second is captured, and every later one replays it —
 * the same kernels on the same memory, without the host running the model's ops, autograd or
 * kernel builders again. Batches are written into the inputs the graph reads; the learning rate,
 * AdamW's step count and dropout's draws follow as they would op by op. On the CPU, or with
 * `captureGraph: false`, every step is `trainStep`.
 */
import { captureGraph, keep, zeros, type CapturedGraph, type Tensor } from '@llmts/tensor';
import type { Optimizer } from '@llmts/nn';
import type { GPT } from '../model.ts';
import { trainStep, type StepSettings } from './step.ts';

/**
 * `trainStep` taken as `llmts train` takes it: on the GPU op by op once, captured at the second
 * step, replayed from the third on (see the module's comment; batches must then keep one shape);
 * otherwise op by op.
 * @example
 * const stepper = new TrainStepper(model, optimizer, { gradClip: 1 });
 * for (let i = 0; i < 100; i++) {
 *   const loss = stepper.step(() => ds.getBatch('train', 12, 64, { device: 'gpu' }));
 *   if (i % 10 === 0) console.log(await loss.item());
 *   stepper.release(loss);
 * }
 * stepper.dispose();
 */
export class TrainStepper {
  /** Whether steps are captured and replayed (on the GPU, unless turned off). */
  readonly captures: boolean;
  /** The inputs and targets of each micro-batch, read by every step. */
  private inputs: { x: Tensor; y: Tensor }[] | null = null;
  private graph: CapturedGraph<Tensor> | null = null;
  private taken = 0;

  constructor(private readonly model: GPT, private readonly optimizer: Optimizer<{ lr: number }>, private readonly settings: StepSettings, options: { captureGraph?: boolean } = {}) {
    this.captures = model.device === 'gpu' && options.captureGraph !== false;
  }

  /** Dispatches a replayed step takes (0 before the capture). */
  get dispatches(): number {
    return this.graph?.dispatches ?? 0;
  }

  /**
   * Take one step on the batches `nextBatch` gives (they are disposed: copied into a captured
   * step's inputs first). Returns the mean loss; hand it to `release` when done with it.
   */
  step(nextBatch: () => { x: Tensor; y: Tensor }): Tensor {
    if (!this.captures) return trainStep(this.model, this.optimizer, nextBatch, this.settings);
    const micro = this.settings.gradAccumSteps ?? 1;
    for (let m = 0; m < micro; m++) {
      const b = nextBatch();
      try {
        const own = (this.inputs ??= []);
        if (own[m] === undefined) own[m] = { x: keep(zeros([...b.x.shape], { dtype: b.x.dtype, device: b.x.device })), y: keep(zeros([...b.y.shape], { dtype: b.y.dtype, device: b.y.device })) };
        const to = own[m]!;
        if (to.x.shape.join() !== b.x.shape.join() || to.y.shape.join() !== b.y.shape.join()) {
          throw new Error(`train: a captured step takes batches of one shape: got inputs [${b.x.shape}] and targets [${b.y.shape}] after [${to.x.shape}] and [${to.y.shape}]`);
        }
        to.x.copy_(b.x);
        to.y.copy_(b.y);
      } finally {
        b.x.dispose();
        b.y.dispose();
      }
    }
    if (this.graph !== null) {
      this.graph.replay();
      return this.graph.result;
    }
    let next = 0;
    const feed = () => this.inputs![next++ % micro]!;
    // the first step makes the optimizer's state (moments), which a capture may not make
    if (this.taken++ === 0) return trainStep(this.model, this.optimizer, feed, this.settings);
    this.graph = captureGraph(() => trainStep(this.model, this.optimizer, feed, this.settings));
    return this.graph.result;
  }

  /** Done with a loss `step` returned (the graph's own is kept for the next replay). */
  release(loss: Tensor): void {
    if (loss !== this.graph?.result) loss.dispose();
  }

  /** Free the graph, its memory and the step's inputs. */
  dispose(): void {
    if (this.graph !== null) {
      this.graph.dispose();
      this.graph.result.dispose();
      this.graph = null;
    }
    for (const t of this.inputs ?? []) {
      t.x.dispose();
      t.y.dispose();
    }
    this.inputs = null;
  }
}
