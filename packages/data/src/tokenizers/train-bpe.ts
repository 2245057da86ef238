import { ByteLevelBPE, GPT2_PATTERN } from './bpe.ts';

export interface TrainBpeOptions {
  /** Final vocabulary size: 256 byte tokens + merges + special tokens. */
  vocabSize: number;
  specialTokens?: readonly string[];
  /** Pre-tokenizer regex (default GPT-2's). */
  pattern?: string;
  /** Stop when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  onProgress?: (merges: number, target: number) => void;
}

/** Max-heap of [count, key] with lazy deletion (stale entries are checked on pop). */
class PairHeap {
  private readonly items: [number, number][] = [];
  push(count: number, key: number): void {
    const a = this.items;
    a.push([count, key]);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && better(a[l]!, a[m]!)) m = l;
        if (r < a.length && better(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Higher count first; ties go to the smaller pair key (deterministic). */
const better = (x: [number, number], y: [number, number]) => x[0] > y[0] || (x[0] === y[0] && x[1] < y[1]);

const KEY = 1048576;

/**
 * Learn byte-level BPE merges from a corpus until the vocabulary reaches `vocabSize`.
 * @example const tok = trainBpe(text, { vocabSize: 1024, specialTokens: ['<|endoftext|>'] });
 */
export function trainBpe(corpus: string | Iterable<string>, options: TrainBpeOptions): ByteLevelBPE {
  const specials = [...(options.specialTokens ?? [])];
  const pattern = options.pattern ?? GPT2_PATTERN;
  const minFrequency = options.minFrequency ?? 2;
  const targetMerges = options.vocabSize - 256 - specials.length;
  if (targetMerges < 0) throw new Error(`trainBpe: vocabSize ${options.vocabSize} is smaller than the 256 byte tokens plus ${specials.length} special tokens`);
  const regex = new RegExp(pattern, 'gu');
  const counts = new Map<string, number>();
  const pieceOf = (text: string) => {
    for (const piece of text.match(regex) ?? []) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  };
  if (typeof corpus === 'string') pieceOf(corpus);
  else for (const chunk of corpus) pieceOf(chunk);

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, c] of counts) {
    words.push(Array.from(encoder.encode(piece)));
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number) => {
    const ids = words[w]!;
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = ids[i]! * KEY + ids[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[w]!);
      if (sign > 0) {
        let set = where.get(key);
        if (set === undefined) where.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [number, number, number][] = [];
  while (merges.length < targetMerges) {
    const top = heap.pop();
    if (top === undefined) break;
    const [c, key] = top;
    const current = pairCount.get(key) ?? 0;
    if (current !== c) {
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (c < minFrequency) break;
    const a = Math.floor(key / KEY), b = key % KEY;
    const id = 256 + merges.length;
    merges.push([a, b, id]);
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      const ids = words[w]!;
      let has = false;
      for (let i = 0; i + 1 < ids.length; i++) if (ids[i] === a && ids[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(w, -1);
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) { next.push(id); i++; }
        else next.push(ids[i]!);
      }
      words[w] = next;
      addPairs(w, 1);
      for (let i = 0; i + 1 < next.length; i++) touched.add(next[i]! * KEY + next[i + 1]!);
    }
    pairCount.delete(key);
    where.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t) ?? 0;
      if (n > 0) heap.push(n, t);
    }
    options.onProgress?.(merges.length, targetMerges);
  }
  const specialTokens: Record<string, number> = {};
  specials.forEach((t, i) => { specialTokens[t] = 256 + merges.length + i; });
  const byteIds = Array.from({ length: 256 }, (_, b) => b);
  return new ByteLevelBPE({ byteIds, merges, specialTokens, pattern, vocabSize: 256 + merges.length + specials.length });
}
