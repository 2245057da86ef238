/**
 * The main job (`npm start`): prepare the shipped Tiny Shakespeare with the character tokenizer,
 * train a small GPT on the best available device with a live progress line, write the checkpoint
 * and the loss plot, and print a sample.
 *
 *   npm start                         shakespeare-char on a GPU (2,000 iterations), shakespeare-char-cpu on the CPU
 *   npm start -- --max-iters 5000     nanoGPT's full shakespeare-char run (on a GPU)
 *   npm start -- --max-iters 500      shorter
 *   npm start -- --preset shakespeare-char --device gpu
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { init, manualSeed, type Device } from '@llmts/tensor';
import { prepareCorpus } from '@llmts/data';
import { formatDuration } from '@llmts/data/internal';
import { generate, loadGPT, train } from '@llmts/gpt';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const { device } = await init({ device: (arg('device') as Device | undefined) ?? 'auto' });
const preset = arg('preset') ?? (device === 'gpu' ? 'shakespeare-char' : 'shakespeare-char-cpu');
const runDir = arg('out') ?? join('runs', preset);
const dataDir = join('runs', 'data', 'shakespeare-char');

if (!existsSync(join(dataDir, 'meta.json'))) {
  const meta = await prepareCorpus({ input: 'data/tinyshakespeare.txt', out: dataDir, tokenizer: 'char' });
  console.log(`prepared Tiny Shakespeare: ${meta.trainTokens.toLocaleString()} train + ${meta.valTokens.toLocaleString()} val characters, vocabulary ${meta.vocabSize}`);
}
// the demo's own run directory is replaced on every `npm start`; a directory named with --out is not
const replace = arg('out') === undefined && existsSync(join(runDir, 'log.jsonl'));
console.log(`training ${preset} on ${device} -> ${runDir}${replace ? ' (replacing the previous demo run)' : ''} (progress below; loss plot in ${join(runDir, 'loss.svg')} and loss.png)`);
// a few minutes: the GPU preset's full 5,000 iterations are one flag away
const maxIters = arg('max-iters') ?? (preset === 'shakespeare-char' ? '2000' : undefined);
const result = await train({
  preset,
  dataDir,
  outDir: runDir,
  device,
  force: replace,
  train: maxIters !== undefined ? { maxIters: Number(maxIters), lrDecayIters: Number(maxIters) } : {},
});
console.log(`\ndone: ${result.iters} iterations in ${formatDuration(result.seconds)} (${result.msPerIter.toFixed(0)} ms/iter); train loss ${result.finalTrain.toFixed(4)}, val loss ${result.finalVal.toFixed(4)} (best ${result.bestVal.toFixed(4)})`);
console.log(`checkpoint: ${join(runDir, 'best')}   sample more with: npx llmts sample --checkpoint ${runDir}\n`);

const { model, tokenizer } = loadGPT(runDir, { device });
manualSeed(1337);
const [tokens] = await generate(model, [tokenizer.encode('\n')], { maxNewTokens: 500, temperature: 0.8, topK: 200 });
console.log(tokenizer.decode(tokens!));
