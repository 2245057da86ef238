import { describe, expect, it } from 'vitest';
import { hasBackend, manualSeed, randn, randint, tensor, crossEntropy, tidy, type Tensor } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';
import { Dropout, Embedding, GELU, LayerNorm, Linear, Module, ModuleList, Parameter, ReLU, Sequential, AdamW, accumulateGradients, init, functional as F } from '@llmts/nn';

class Block extends Module {
  ln = new LayerNorm(8);
  fc = new Linear(8, 16);
  proj = new Linear(16, 8, { bias: false });
  drop = new Dropout(0.5);
  constructor() {
    super();
    this.registerBuffer('mask', tensor([1, 0, 1]));
    this.registerBuffer('scratch', tensor([0]), { persistent: false });
  }
  forward(x: Tensor): Tensor { return x.add(this.drop.forward(this.proj.forward(this.fc.forward(this.ln.forward(x)).gelu()))); }
}

class Net extends Module {
  wte = new Embedding(10, 8);
  blocks = new ModuleList([new Block(), new Block()]);
  head = new Linear(8, 10, { bias: false });
  constructor() {
    super();
    this.head.weight = this.wte.weight; // tied, as GPT-2
  }
  forward(ids: Tensor): Tensor {
    let x = this.wte.forward(ids);
    for (const b of this.blocks) x = b.forward(x);
    return this.head.forward(x);
  }
}

describe('Module', () => {
  it('finds parameters, buffers and children by property, with dotted names; tied weights once', () => {
    manualSeed(0);
    const net = new Net();
    const names = net.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'wte.weight',
      'blocks.0.ln.weight', 'blocks.0.ln.bias', 'blocks.0.fc.weight', 'blocks.0.fc.bias', 'blocks.0.proj.weight',
      'blocks.1.ln.weight', 'blocks.1.ln.bias', 'blocks.1.fc.weight', 'blocks.1.fc.bias', 'blocks.1.proj.weight',
    ]);
    expect(net.numParameters()).toBe(10 * 8 + 2 * (8 + 8 + 8 * 16 + 16 + 16 * 8));
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['blocks.0.mask', 'blocks.0.scratch', 'blocks.1.mask', 'blocks.1.scratch']);
    const sd = Object.keys(net.stateDict());
    expect(sd).toContain('head.weight');
    expect(sd).toContain('blocks.1.mask');
    expect(sd).not.toContain('blocks.1.scratch');
    expect(net.toString()).toContain('(blocks): ModuleList');
  });

  it('train()/eval() switch dropout for the whole tree', async () => {
    manualSeed(0);
    const net = new Net().eval();
    expect([...net.modules()].every((m) => !m.training)).toBe(true);
    const ids = tensor([[1, 2, 3]], { dtype: 'int32' });
    const a = await net.forward(ids).data();
    expect(await net.forward(ids).data()).toEqual(a);
    net.train();
    expect(await net.forward(ids).data()).not.toEqual(a);
  });

  it('stateDict / loadStateDict round trip, strict about names and shapes, never half-loading', async () => {
    manualSeed(1);
    const a = new Net();
    manualSeed(2);
    const b = new Net();
    b.loadStateDict(a.stateDict());
    const ids = tensor([[4, 5]], { dtype: 'int32' });
    a.eval(); b.eval();
    expect(await b.forward(ids).data()).toEqual(await a.forward(ids).data());
    expect(b.head.weight).toBe(b.wte.weight);

    const sd = { ...a.stateDict() };
    delete sd['blocks.0.fc.bias'];
    sd['extra.weight'] = tensor([1]);
    sd['blocks.1.fc.weight'] = randn([3, 3]);
    const before = await b.wte.weight.data();
    expect(() => b.loadStateDict(sd)).toThrow(/missing keys: blocks\.0\.fc\.bias; unexpected keys: extra\.weight; size mismatch: blocks\.1\.fc\.weight: checkpoint \[3,3\] vs model \[16,8\]/);
    expect(await b.wte.weight.data()).toEqual(before);
    const lenient = { ...a.stateDict() };
    delete lenient['blocks.0.fc.bias'];
    expect(b.loadStateDict(lenient, { strict: false }).missing).toEqual(['blocks.0.fc.bias']);
  });

  it('Linear, Embedding, LayerNorm, Sequential compute what they should', async () => {
    manualSeed(3);
    const lin = new Linear(3, 2);
    const x = randn([4, 3]);
    const want = x.matmul(lin.weight.transpose(0, 1)).add(lin.bias!);
    expect(compareArrays(await lin.forward(x).data(), await want.data()).ok).toBe(true);
    const bound = 1 / Math.sqrt(3);
    for (const v of await lin.weight.data()) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    const emb = new Embedding(5, 2);
    expect(await emb.forward(tensor([3], { dtype: 'int32' })).toArray()).toEqual([await emb.weight.select(0, 3).toArray()]);
    const ln = new LayerNorm(4);
    const y = ln.forward(randn([2, 4]).mul(5).add(3));
    for (const m of await y.mean(-1).data()) expect(Math.abs(m)).toBeLessThan(1e-5);
    const seq = new Sequential(new Linear(3, 8), new ReLU(), new Linear(8, 1), new GELU('tanh'));
    expect(seq.forward(x).shape).toEqual([4, 1]);
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('init helpers fill in place and keep identity', async () => {
    const p = new Parameter(randn([64, 32]));
    const same = p;
    init.normal_(p, 0, 0.02);
    expect(p).toBe(same);
    expect(Math.abs((await p.std().item()) - 0.02)).toBeLessThan(0.002);
    init.zeros_(p);
    expect(await p.abs().sum().item()).toBe(0);
    init.scaledResidual_(p, 12);
    expect(Math.abs((await p.std().item()) - 0.02 / Math.sqrt(24))).toBeLessThan(0.0005);
    expect(p.requiresGrad).toBe(true);
  });

  it('functional re-exports the tensor ops', () => {
    expect(F.crossEntropy).toBe(crossEntropy);
  });

  it('accumulating 4 micro-batches gives the gradients of the whole batch', async () => {
    manualSeed(4);
    const lin = new Linear(6, 3);
    const x = randn([8, 6]);
    const y = randint(0, 3, [8]);
    crossEntropy(lin.forward(x), y).backward();
    const whole = await lin.weight.grad!.data();
    lin.zeroGrad();
    const loss = accumulateGradients(4, (i) => crossEntropy(lin.forward(x.narrow(0, 2 * i, 2)), y.narrow(0, 2 * i, 2)));
    expect(Math.abs((await loss.item()) - (await crossEntropy(lin.forward(x), y).item()))).toBeLessThan(1e-6);
    expect(compareArrays(await lin.weight.grad!.data(), whole, { rtol: 1e-5, atol: 1e-7 }).ok).toBe(true);
  });
});

describe.skipIf(!hasBackend('gpu'))('modules behave the same on CPU and GPU', () => {
  it('forward, backward and an AdamW step agree after module.to("gpu")', async () => {
    manualSeed(5);
    const cpu = new Net().eval();
    manualSeed(5);
    const gpu = new Net().eval().to('gpu');
    expect(gpu.wte.weight.device).toBe('gpu');
    expect(gpu.head.weight).toBe(gpu.wte.weight);
    const ids = [[1, 2, 3, 4], [5, 6, 7, 8]];
    const targets = [[2, 3, 4, 5], [6, 7, 8, 9]];
    const results = [];
    for (const [net, device] of [[cpu, 'cpu'], [gpu, 'gpu']] as const) {
      const opt = new AdamW(net.parameters(), { lr: 1e-2 });
      const loss = tidy(() => {
        const logits = net.forward(tensor(ids, { dtype: 'int32', device }));
        const l = crossEntropy(logits.view(-1, 10), tensor(targets, { dtype: 'int32', device }).view(-1));
        l.backward();
        return l;
      });
      opt.step();
      results.push({ loss: await loss.item(), w: await net.blocks.at(1).fc.weight.data(), g: await net.wte.weight.grad!.data() });
    }
    expect(Math.abs(results[0]!.loss - results[1]!.loss)).toBeLessThan(1e-4);
    expect(compareArrays(results[1]!.g, results[0]!.g, { rtol: 1e-3, atol: 1e-5 }).ok).toBe(true);
    expect(compareArrays(results[1]!.w, results[0]!.w, { rtol: 1e-4, atol: 1e-5 }).ok).toBe(true);
  });
});
