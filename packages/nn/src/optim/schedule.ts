/**
 * Learning-rate schedules as plain functions of the iteration (nanoGPT's `get_lr`), plus a small
 * scheduler that applies one to an optimizer.
 */
import type { Optimizer } from './optimizer.ts';

export type LrSchedule = (iter: number) => number;

/** The same learning rate at every iteration. */
export const constantLr = (lr: number): LrSchedule => () => lr;

export interface WarmupCosineOptions {
  /** Peak learning rate reached at the end of warmup. */
  maxLr: number;
  /** Floor reached at `decayIters` and kept afterwards (nanoGPT uses maxLr / 10). */
  minLr: number;
  warmupIters: number;
  /** Iteration at which the cosine reaches minLr (usually the last iteration). */
  decayIters: number;
}

/**
 * Linear warmup from ~0 to maxLr over warmupIters, then cosine decay to minLr at decayIters.
 * @example const lrAt = warmupCosine({ maxLr: 1e-3, minLr: 1e-4, warmupIters: 100, decayIters: 5000 });
 */
export function warmupCosine(o: WarmupCosineOptions): LrSchedule {
  if (o.decayIters < o.warmupIters) throw new Error(`warmupCosine: decayIters (${o.decayIters}) must be >= warmupIters (${o.warmupIters})`);
  return (iter) => {
    if (iter < o.warmupIters) return (o.maxLr * (iter + 1)) / (o.warmupIters + 1);
    if (iter >= o.decayIters) return o.minLr;
    const ratio = (iter - o.warmupIters) / Math.max(1, o.decayIters - o.warmupIters);
    return o.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.maxLr - o.minLr);
  };
}

/** Linear warmup then constant. */
export function warmupConstant(maxLr: number, warmupIters: number): LrSchedule {
  return (iter) => (iter < warmupIters ? (maxLr * (iter + 1)) / (warmupIters + 1) : maxLr);
}

/** Applies a schedule to an optimizer: call `step()` once per iteration, before `optimizer.step()`. */
export class LrScheduler {
  iter: number;

  constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly schedule: LrSchedule, startIter = 0) {
    this.iter = startIter;
  }

  /** Set the learning rate for the current iteration and advance; returns the rate used. */
  step(): number {
    const lr = this.schedule(this.iter);
    this.optimizer.setLr(lr);
    this.iter++;
    return lr;
  }
}
