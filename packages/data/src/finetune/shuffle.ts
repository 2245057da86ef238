import { randomInts } from '@llmts/tensor';

/** A permutation of 0..n-1 from the seeded generator (Fisher–Yates). */
export function seededPermutation(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (n < 2) return order;
  const r = randomInts(n, 0, 2 ** 31);
  for (let i = n - 1; i > 0; i--) {
    const j = r[i]! % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
