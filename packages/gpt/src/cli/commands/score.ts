import { noGrad, tensor } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadForInference, parseIds } from '../io.ts';

export const scoreCommand: CommandSpec = {
  name: 'score',
  summary: 'mean next-token cross-entropy and perplexity of a text under a checkpoint, and the logits after it',
  usage: 'llmts score --checkpoint DIR (--text TEXT | --prompt-ids 1,2,3) [--json]',
  flags: [
    commonFlags.checkpoint,
    { name: 'text', type: 'string', help: 'text to score' },
    { name: 'prompt-ids', type: 'string', help: 'token ids to score, e.g. 1,2,3' },
    commonFlags.device,
    commonFlags.quantize,
    { name: 'json', type: 'boolean', help: 'print {"loss", "perplexity", "lastLogits"} (lastLogits: the next-token logits after the whole text)' },
  ],
  async run(a) {
    if ((a.text === undefined) === (a['prompt-ids'] === undefined)) throw new Error('score: give exactly one of --text and --prompt-ids');
    const given = a['prompt-ids'] !== undefined ? parseIds(String(a['prompt-ids']), 'score: --prompt-ids') : null; // before the model loads
    const { model, tokenizer } = loadForInference(a);
    const ids = given ?? tokenizer.encode(String(a.text), { allowedSpecial: 'all' });
    if (ids.length < 2) throw new Error(`score: need at least 2 tokens to score next-token predictions, got ${ids.length}`);
    const { blockSize, vocabSize } = model.config;
    for (const id of ids) if (id >= vocabSize) throw new Error(`score: token ${id} is outside the vocabulary of ${vocabSize}`);
    if (ids.length > blockSize) throw new Error(`score: ${ids.length} tokens exceed the model's context of ${blockSize}`);
    const device = model.device;
    // every position predicts the next token; the last has no target, its logits are lastLogits
    const result = noGrad(() => {
      const x = tensor(ids, { dtype: 'int32', device, shape: [1, ids.length] });
      const y = tensor([...ids.slice(1), -100], { dtype: 'int32', device, shape: [1, ids.length] });
      const { logits, loss } = model.forward(x, y, { ignoreIndex: -100 });
      return { loss: loss!, last: logits.select(1, ids.length - 1).select(0, 0) };
    });
    const loss = await result.loss.item();
    const lastLogits = [...(await result.last.data())];
    if (a.json) process.stdout.write(`${JSON.stringify({ loss, perplexity: Math.exp(loss), lastLogits })}\n`);
    else process.stdout.write(`loss ${loss.toFixed(4)}  perplexity ${Math.exp(loss).toFixed(3)}  (${ids.length - 1} predictions)\n`);
    return 0;
  },
};
