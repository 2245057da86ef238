import { describe, expect, it } from 'vitest';
import { crossEntropy, hasBackend, manualSeed, noGrad, randint, tensor, tidy } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';
import { AdamW } from '@llmts/nn';
import { BigramLanguageModel, GPT, generate, nextTokenProbs, type GPTConfig } from '@llmts/gpt';

const small: Partial<GPTConfig> = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true };

describe('GPT model', () => {
  it('maps (B, T) ids to (B, T, V) logits, the loss starts near ln V, and names follow GPT-2', async () => {
    manualSeed(0);
    const m = new GPT(small);
    const x = randint(0, 11, [3, 8]), y = randint(0, 11, [3, 8]);
    const { logits, loss } = m.forward(x, y);
    expect(logits.shape).toEqual([3, 8, 11]);
    expect(Math.abs((await loss!.item()) - Math.log(11))).toBeLessThan(0.2);
    expect(m.forward(x).logits.shape).toEqual([3, 1, 11]);
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toContain('transformer.h.1.attn.c_attn.weight');
    expect(names).toContain('transformer.ln_f.bias');
    expect(names).not.toContain('lm_head.weight'); // tied to transformer.wte.weight
    expect(Object.keys(m.stateDict())).toContain('lm_head.weight');
    // GPT-2 small built here has Hugging Face's published count: 124,439,808 (123.65M without positions)
    const gpt2 = new GPT({ vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768 }, { init: false });
    expect(gpt2.numParameters()).toBe(124_439_808);
    expect(gpt2.numParams()).toBe(124_439_808 - 1024 * 768);
    gpt2.dispose();
    expect(() => m.forward(randint(0, 11, [1, 9]))).toThrow(/9 positions exceed blockSize 8/);
    expect(() => new GPT({ ...small, nEmbd: 15 })).toThrow(/nEmbd \(15\) must be divisible by nHead \(2\)/);
  });

  for (const normPlacement of ['pre', 'post'] as const) {
    it(`learns a fixed batch (${normPlacement}-norm)`, async () => {
      manualSeed(1);
      const m = new GPT({ ...small, normPlacement });
      const opt = new AdamW(m.optimizerGroups(0), { lr: 1e-2 });
      const x = randint(0, 11, [4, 8]), y = randint(0, 11, [4, 8]);
      let last = Infinity;
      for (let i = 0; i < 150; i++) {
        const loss = tidy(() => {
          const l = m.forward(x, y).loss!;
          l.backward();
          return l;
        });
        opt.step();
        opt.zeroGrad();
        if (i === 149) last = await loss.item();
        loss.dispose();
      }
      expect(last).toBeLessThan(0.1);
    });
  }

  it('gives the same greedy and sampled tokens with and without the KV cache, also past blockSize', async () => {
    manualSeed(2);
    const m = new GPT(small);
    for (const o of [{ temperature: 0 }, { temperature: 0.9, topK: 5 }, { temperature: 1.2, topP: 0.8 }]) {
      manualSeed(7);
      const [withCache] = await generate(m, [[1, 2, 3]], { ...o, maxNewTokens: 14, useCache: true });
      manualSeed(7);
      const [without] = await generate(m, [[1, 2, 3]], { ...o, maxNewTokens: 14, useCache: false });
      expect(withCache).toEqual(without);
      expect(withCache!.length).toBe(14);
    }
  });

  it('cached logits equal full-context logits position by position', async () => {
    manualSeed(3);
    const m = new GPT(small).eval();
    const ids = [3, 1, 4, 1, 5, 9];
    const full = noGrad(() => m.forward(tensor(ids, { dtype: 'int32', shape: [1, 6] }), null, { allLogits: true }).logits);
    const cache = m.newCache();
    const step = noGrad(() => {
      m.forward(tensor(ids.slice(0, 3), { dtype: 'int32', shape: [1, 3] }), null, { cache });
      return [3, 4, 5].map((p) => m.forward(tensor([ids[p]!], { dtype: 'int32', shape: [1, 1] }), null, { cache }).logits);
    });
    const f = await full.data();
    for (let k = 0; k < 3; k++) {
      const got = await step[k]!.data();
      const want = f.slice((3 + k) * 11, (4 + k) * 11);
      expect(compareArrays(got, want, { rtol: 1e-5, atol: 1e-5 }).ok).toBe(true);
    }
  });

  it('stops at the stop token and streams tokens to a callback', async () => {
    manualSeed(4);
    const m = new GPT(small);
    const streamed: number[] = [];
    const [greedy] = await generate(m, [[0]], { temperature: 0, maxNewTokens: 10 });
    const stop = greedy![3]!;
    const [out] = await generate(m, [[0]], { temperature: 0, maxNewTokens: 10, stopToken: stop, onToken: (t) => { streamed.push(t); } });
    expect(out).toEqual(greedy!.slice(0, greedy!.indexOf(stop) + 1));
    expect(streamed).toEqual(out);
    const [two, three] = await generate(m, [[0], [5]], { temperature: 0, maxNewTokens: 4 });
    expect(two).toEqual(greedy!.slice(0, 4));
    expect(three!.length).toBe(4);
  });

  it('applies temperature, top-k and top-p as their definitions say', () => {
    const logits = [2, 1, 0, -1];
    const p = nextTokenProbs(logits, { temperature: 1 });
    const z = logits.map(Math.exp).reduce((a, b) => a + b);
    expect(p[0]).toBeCloseTo(Math.exp(2) / z, 12);
    const k2 = nextTokenProbs(logits, { topK: 2 });
    expect(k2[2]).toBe(0);
    expect(k2[0]! + k2[1]!).toBeCloseTo(1, 12);
    const top = nextTokenProbs(logits, { topP: 0.7 });
    expect([...top].filter((v) => v > 0).length).toBe(2);
    const cold = nextTokenProbs(logits, { temperature: 0.1 });
    expect(cold[0]).toBeGreaterThan(0.9999);
  });

  it.skipIf(!hasBackend('gpu'))('runs the same on the GPU (forward, loss and greedy generation)', async () => {
    manualSeed(5);
    const cpu = new GPT(small);
    manualSeed(5);
    const gpu = new GPT(small).to('gpu');
    const x = [[1, 2, 3, 4, 5, 6, 7, 8]], y = [[2, 3, 4, 5, 6, 7, 8, 9]];
    const lc = await cpu.forward(tensor(x, { dtype: 'int32' }), tensor(y, { dtype: 'int32' })).loss!.item();
    const lg = await gpu.forward(tensor(x, { dtype: 'int32', device: 'gpu' }), tensor(y, { dtype: 'int32', device: 'gpu' })).loss!.item();
    expect(Math.abs(lc - lg)).toBeLessThan(1e-4);
    const [a] = await generate(cpu, [[1]], { temperature: 0, maxNewTokens: 6 });
    const [b] = await generate(gpu, [[1]], { temperature: 0, maxNewTokens: 6 });
    expect(b).toEqual(a);
  });
});

describe('bigram model', () => {
  it('learns bigram statistics', async () => {
    manualSeed(6);
    const m = new BigramLanguageModel(5);
    const opt = new AdamW(m.parameters(), { lr: 0.1 });
    const seq = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2];
    const x = tensor(seq.slice(0, -1), { dtype: 'int32', shape: [1, 12] }), y = tensor(seq.slice(1), { dtype: 'int32', shape: [1, 12] });
    for (let i = 0; i < 100; i++) {
      const { loss } = m.forward(x, y);
      loss!.backward();
      opt.step();
      opt.zeroGrad();
    }
    const { logits } = m.forward(tensor([[2]], { dtype: 'int32' }));
    expect(await logits.argmax(-1).item()).toBe(3);
    expect(await crossEntropy(m.forward(x).logits.view(12, 5), y.view(12)).item()).toBeLessThan(0.1);
  });
});
