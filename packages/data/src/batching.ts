import { randomInts } from '@llmts/tensor/internal';

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

/** Indices 0..n-1 in batches of `batchSize`, in order or shuffled by the seeded generator. */
export function* indexBatches(n: number, batchSize: number, options: { shuffle?: boolean; dropLast?: boolean } = {}): Generator<number[]> {
  const order = options.shuffle ? seededPermutation(n) : Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    if (options.dropLast && idx.length < batchSize) return;
    yield idx;
  }
}
