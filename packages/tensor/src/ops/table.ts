/**
 * The table of primitives: every op that owns a kernel or a view rule. Each entry says its family
 * and whether it has a vjp; composites (softmax, layerNorm, crossEntropy, gelu, …) are built from
 * these and need no entry. The gradient-check suite walks this table, so a new differentiable
 * primitive without a gradient test fails it.
 */
import { unaryDefs, type UnaryOp } from './unary.ts';
import { binaryDefs, type BinaryOp } from './binary.ts';
import { reduceDefs, type ReduceOp } from './reduce.ts';

export type Family = 'unary' | 'binary' | 'ternary' | 'reduce' | 'argreduce' | 'matmul' | 'view' | 'copy' | 'index' | 'create' | 'sample' | 'fused';

export interface PrimInfo {
  family: Family;
  differentiable: boolean;
}

const fromDefs = <K extends string>(defs: Record<K, { vjp: unknown }>, family: Family) =>
  Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, { family, differentiable: (d as { vjp: unknown }).vjp !== null }])) as Record<K, PrimInfo>;

const others = {
  where: { family: 'ternary', differentiable: true },
  argmax: { family: 'argreduce', differentiable: false },
  argmin: { family: 'argreduce', differentiable: false },
  matmul: { family: 'matmul', differentiable: true },
  view: { family: 'view', differentiable: true },
  permute: { family: 'view', differentiable: true },
  expand: { family: 'view', differentiable: true },
  slice: { family: 'view', differentiable: true },
  clone: { family: 'copy', differentiable: true },
  cat: { family: 'copy', differentiable: true },
  gather: { family: 'index', differentiable: true },
  scatterAdd: { family: 'index', differentiable: true },
  fill: { family: 'create', differentiable: false },
  random: { family: 'create', differentiable: false },
  multinomial: { family: 'sample', differentiable: false },
  topk: { family: 'sample', differentiable: false },
  softmax: { family: 'fused', differentiable: true },
  softmaxBackward: { family: 'fused', differentiable: false },
  layerNorm: { family: 'fused', differentiable: true },
  layerNormBackward: { family: 'fused', differentiable: false },
  gelu: { family: 'fused', differentiable: true },
  geluBackward: { family: 'fused', differentiable: false },
  crossEntropy: { family: 'fused', differentiable: true },
  crossEntropyBackward: { family: 'fused', differentiable: false },
} as const satisfies Record<string, PrimInfo>;

export type PrimOp = UnaryOp | BinaryOp | ReduceOp | keyof typeof others;

export const primitives: Record<PrimOp, PrimInfo> = {
  ...fromDefs(unaryDefs, 'unary'),
  ...fromDefs(binaryDefs, 'binary'),
  ...fromDefs(reduceDefs, 'reduce'),
  ...others,
};

type DiffKeys<T> = { [K in keyof T]: T[K] extends { vjp: null } ? never : K }[keyof T];
type OtherDiff = { [K in keyof typeof others]: (typeof others)[K]['differentiable'] extends true ? K : never }[keyof typeof others];

/** Primitives with a vjp: each needs a gradient check. */
export type DifferentiableOp = DiffKeys<typeof unaryDefs> | DiffKeys<typeof binaryDefs> | ReduceOp | OtherDiff;
