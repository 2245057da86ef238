import fc from 'fast-check';

export interface HostTensor {
  shape: number[];
  values: number[];
  dtype?: 'float64' | 'int32' | 'bool' | 'float32';
}

export const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A shape of rank minRank..maxRank with dims 1..maxDim (size-1 dims included on purpose). */
export const shapeArb = (minRank = 0, maxRank = 3, maxDim = 4) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** Values for a shape, drawn from [min, max], optionally kept away from `avoid` points. */
export function valuesArb(shape: readonly number[], min = -2, max = 2, avoid: number[] = [], margin = 0.05): fc.Arbitrary<number[]> {
  const n = numelOf(shape);
  return fc
    .array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
    .map((vs) => vs.map((v) => {
      for (const a of avoid) if (Math.abs(v - a) < margin) v = a + (v >= a ? margin : -margin);
      return v;
    }));
}

export const hostArb = (shape: readonly number[], min = -2, max = 2, avoid: number[] = []) =>
  valuesArb(shape, min, max, avoid).map((values): HostTensor => ({ shape: [...shape], values, dtype: 'float64' }));

/** Two shapes that broadcast together: the second drops leading dims and turns some dims into 1. */
export const broadcastPairArb = (maxRank = 3, maxDim = 4) =>
  shapeArb(0, maxRank, maxDim).chain((a) =>
    fc.tuple(
      fc.integer({ min: 0, max: a.length }),
      fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }),
      fc.boolean(),
    ).map(([drop, ones, swap]) => {
      const b = a.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
      return swap ? [b, a] as const : [a, b] as const;
    }));

/** Distinct values (no ties), for max/min/sort-like ops whose gradients are undefined at ties. */
export const distinctValuesArb = (shape: readonly number[]) => {
  const n = numelOf(shape);
  return fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n })
    .map((perm) => perm.map((p) => (p - n / 2) * 0.37 + 0.01));
};

/** A dim list for reductions over `rank` dims (possibly empty meaning "all" is tested separately). */
export const dimsArb = (rank: number) =>
  rank === 0 ? fc.constant([] as number[]) : fc.uniqueArray(fc.integer({ min: 0, max: rank - 1 }), { minLength: 1, maxLength: rank }).map((ds) => [...ds].sort());
