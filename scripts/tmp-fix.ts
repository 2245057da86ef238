import { init, noGrad, tensor } from '@llmts/tensor';
import { loadGPT, generate } from '@llmts/gpt';
import { readFileSync } from 'node:fs';
await init({ device: 'gpu' });
const exp = JSON.parse(readFileSync('/work/shared/fixtures/hf-gpt2-tiny/expected.json', 'utf8'));
for (const device of ['cpu', 'gpu'] as const) {
  const { model, tokenizer } = loadGPT('/work/shared/fixtures/hf-gpt2-tiny', { device });
  const ids: number[] = exp.input_ids;
  const out = noGrad(() => model.forward(tensor([ids.slice(0, -1)], { device }), tensor([ids.slice(1)], { device })));
  const lossNext = await out.loss!.item();
  const last = noGrad(() => model.forward(tensor([ids], { device }))).logits;
  const l = await last.data();
  let maxd = 0; for (let i = 0; i < l.length; i++) maxd = Math.max(maxd, Math.abs(l[i]! - exp.last_logits[i]));
  const [g] = await generate(model, [ids], { maxNewTokens: 20, temperature: 0 });
  console.log(model.transformer.wte.weight.device, last.device, l[0], l[1]);
  console.log(device, 'maxdiff', maxd, 'loss', lossNext, exp.loss_next_token, 'greedy ok', JSON.stringify(g) === JSON.stringify(exp.greedy_20), tokenizer.kind, model.config);
}
