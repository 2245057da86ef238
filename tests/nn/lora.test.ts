import { describe, expect, it } from 'vitest';
import { gradcheck, manualSeed, noGrad, randn, tensor, type Tensor } from '@llmts/tensor';
import { AdamW, Linear, LoRALinear, Module, ModuleList, Sequential, applyLoRA, hasLoRA, loraStateDict, mergeLoRA, replaceModules, init } from '@llmts/nn';

const values = async (t: Tensor) => Array.from(await t.data());

/** x·Wᵀ + b + s·x·Aᵀ·Bᵀ in plain JavaScript, from the tensors' values. */
async function byHand(x: Tensor, l: LoRALinear): Promise<number[]> {
  const [n, inp] = x.shape as [number, number];
  const out = l.outFeatures;
  const [X, W, A, B] = await Promise.all([x, l.weight, l.lora_A, l.lora_B].map(values));
  const b = l.bias ? await values(l.bias) : new Array<number>(out).fill(0);
  const r = l.rank;
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = Array.from({ length: r }, (_, k) => X!.slice(i * inp, (i + 1) * inp).reduce((s, v, j) => s + v * A![k * inp + j]!, 0));
    for (let o = 0; o < out; o++) {
      let v = b[o]!;
      for (let j = 0; j < inp; j++) v += X![i * inp + j]! * W![o * inp + j]!;
      for (let k = 0; k < r; k++) v += l.scaling * h[k]! * B![o * r + k]!;
      y.push(v);
    }
  }
  return y;
}

describe('LoRA', () => {
  it('starts equal to its base layer and computes W x + b + (alpha/rank) B A x', async () => {
    manualSeed(3);
    const base = new Linear(24, 16);
    const x = randn([5, 24]);
    const before = await values(noGrad(() => base.forward(x)));
    const l = new LoRALinear(base, { rank: 4, alpha: 8 });
    expect(l.scaling).toBe(2);
    expect(await values(noGrad(() => l.forward(x)))).toEqual(before); // B starts at zero
    init.normal_(l.lora_B, 0, 0.5);
    const got = await values(noGrad(() => l.forward(x)));
    const want = await byHand(x, l);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
    expect(got.some((v, i) => Math.abs(v - before[i]!) > 1e-3)).toBe(true);
  });

  it('passes a float64 gradient check for its input and both adapter matrices', () => {
    manualSeed(4);
    const base = new Linear(6, 5, { dtype: 'float64' });
    const l = new LoRALinear(base, { rank: 3, alpha: 6 });
    init.normal_(l.lora_B, 0, 0.3);
    const x = randn([4, 6], { dtype: 'float64', requiresGrad: true });
    // gradcheck hands the function perturbed copies: the layer reads whichever A and B it is given
    const r = gradcheck((xi, A, B) => {
      Object.assign(l, { lora_A: A, lora_B: B });
      return l.forward(xi!);
    }, [x, l.lora_A, l.lora_B]);
    expect(r.ok, JSON.stringify(r.details)).toBe(true);
  });

  it('sends gradients only to the adapters (and what keepTrainable names); frozen weights stay unchanged through training', async () => {
    manualSeed(5);
    const model = new Sequential(new Linear(8, 32), new Linear(32, 32), new Linear(32, 3));
    const report = applyLoRA(model, { rank: 2, alpha: 4, target: (n) => n !== '2', keepTrainable: (n) => n === '2.weight' });
    expect(report.layers).toEqual(['0', '1']);
    const adapters = 2 * 8 + 32 * 2 + 2 * 32 + 32 * 2;
    expect(report.total).toBe(8 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3 + adapters);
    expect(report.trainable).toBe(adapters + 32 * 3);
    const frozen = model.namedParameters().filter(([, p]) => !p.requiresGrad);
    expect(frozen.map(([n]) => n).sort()).toEqual(['0.bias', '0.weight', '1.bias', '1.weight', '2.bias']);
    const snapshot = await Promise.all(frozen.map(([, p]) => values(p)));
    const opt = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-2 });
    const x = randn([16, 8]);
    const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), { dtype: 'int32' });
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 0; step < 30; step++) {
      const logits = model.forward(x);
      const loss = logits.logSoftmax(-1).gather(1, y.unsqueeze(1)).mean().neg();
      loss.backward();
      if (step === 0) {
        for (const [, p] of frozen) expect(p.grad).toBeNull();
        const A = (model.at(1) as LoRALinear).lora_A;
        const B = (model.at(1) as LoRALinear).lora_B;
        expect(A.grad).not.toBeNull();
        expect((await values(B.grad!)).some((v) => v !== 0)).toBe(true);
        firstLoss = await loss.item();
      }
      lastLoss = await loss.item();
      opt.step();
      opt.zeroGrad();
    }
    expect(lastLoss).toBeLessThan(firstLoss);
    const after = await Promise.all(frozen.map(([, p]) => values(p)));
    expect(after).toEqual(snapshot);
    opt.dispose();
  });

  it('merges into equal outputs, freeing the adapters; a shared weight gets its own merged copy', async () => {
    manualSeed(6);
    class Tied extends Module {
      emb = new Linear(12, 12, { bias: false });
      head = new Linear(12, 12, { bias: false });
      constructor() {
        super();
        this.head.weight.dispose();
        this.head.weight = this.emb.weight;
      }
      forward(x: Tensor) { return this.head.forward(this.emb.forward(x).tanh()); }
    }
    const m = new Tied();
    applyLoRA(m, { rank: 3, alpha: 3, target: (n) => n === 'head' });
    init.normal_((m.head as unknown as LoRALinear).lora_B, 0, 0.2);
    const x = randn([3, 12]);
    const before = await values(noGrad(() => m.forward(x)));
    const embBefore = await values(m.emb.weight);
    expect(Object.keys(loraStateDict(m))).toEqual(['head.lora_A', 'head.lora_B']);
    const { layers, untied } = mergeLoRA(m);
    expect(layers).toEqual(['head']);
    expect(untied).toEqual(['head']);
    expect(hasLoRA(m)).toBe(false);
    expect(m.head).toBeInstanceOf(Linear);
    expect(m.head.weight).not.toBe(m.emb.weight);
    expect(await values(m.emb.weight)).toEqual(embBefore); // the embedding keeps its own values
    const after = await values(noGrad(() => m.forward(x)));
    after.forEach((v, i) => expect(v).toBeCloseTo(before[i]!, 5));
  });

  it('refuses nothing to adapt, a second round of adapters and bad settings', () => {
    const model = new Sequential(new Linear(4, 4));
    expect(() => applyLoRA(model, { rank: 2, target: () => false })).toThrow(/no Linear layer matched/);
    expect(() => applyLoRA(model, { rank: 0, target: () => true })).toThrow(/rank must be a positive integer, got 0/);
    expect(() => applyLoRA(model, { rank: 2, alpha: -1, target: () => true })).toThrow(/alpha must be a positive number/);
    applyLoRA(model, { rank: 2, target: () => true });
    expect(() => applyLoRA(model, { rank: 2, target: () => true })).toThrow(/already has LoRA adapters/);
  });
});

describe('replaceModules', () => {
  it('names children as namedModules does: properties, ModuleList positions, arrays', () => {
    class Net extends Module {
      a = new Linear(2, 2);
      list = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
      arr = [new Linear(2, 2)];
      forward(x: Tensor) { return x; }
    }
    const net = new Net();
    const seen: string[] = [];
    replaceModules(net, (name, m) => {
      if (m instanceof Linear) seen.push(name);
      return null;
    });
    const linears = [...net.namedModules()].filter(([, m]) => m instanceof Linear).map(([n]) => n);
    expect(seen.sort()).toEqual(linears.sort());
    expect(seen).toContain('list.1');
    expect(seen).toContain('arr.0');
  });
});
