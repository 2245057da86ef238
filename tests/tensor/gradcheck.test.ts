import { describe, expect, it } from 'vitest';
import { primitives } from '@llmts/tensor/internal';
import { gradCases } from '../helpers/gradcases.ts';
import { checkCase } from '../helpers/check.ts';

describe('gradient check of every differentiable primitive (float64 central differences)', () => {
  it('has a gradient case for every differentiable primitive in the registry', () => {
    const missing = Object.entries(primitives)
      .filter(([, info]) => info.differentiable)
      .map(([name]) => name)
      .filter((name) => !(name in gradCases));
    expect(missing).toEqual([]);
  });

  for (const [op, c] of Object.entries(gradCases)) {
    it(op, () => checkCase(c, 25));
  }
});
