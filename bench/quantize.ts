/**
 * Quantized inference next to float32, per checkpoint and device: weight memory, the largest
 * deviation of the next-token logits, perplexity on a held-out text, and greedy generation
 * tokens/s (batch 1, KV cache).
 *
 *   npm run bench -- quantize [--checkpoint DIR,DIR] [--devices cpu,gpu] [--text FILE] [--tokens 200]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasBackend, init, noGrad, tensor, type Device } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';
import { generate, loadGPT, type GPT } from '@llmts/gpt';

function option(args: string[], name: string, fallback?: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** Mean next-token loss over windows of the model's context covering `ids`. */
async function perplexity(model: GPT, ids: number[]): Promise<number> {
  const T = model.config.blockSize;
  let total = 0, count = 0;
  for (let at = 0; at + 1 < ids.length; at += T) {
    const chunk = ids.slice(at, at + T + 1);
    if (chunk.length < 2) break;
    const x = chunk.slice(0, -1), y = chunk.slice(1);
    const loss = noGrad(() => model.forward(tensor([x], { device: model.device }), tensor([y], { device: model.device })).loss!);
    total += (await loss.item()) * y.length;
    count += y.length;
    loss.dispose();
  }
  return Math.exp(total / count);
}

export async function run(args: string[]) {
  await init();
  const checkpoints = option(args, 'checkpoint', `${root}../shared/fixtures/hf-gpt2-tiny,${root}tests/fixtures/llmts-trained`)!.split(',');
  const devices = (option(args, 'devices', hasBackend('gpu') ? 'cpu,gpu' : 'cpu')!.split(',')) as Device[];
  const text = readFileSync(option(args, 'text', `${root}data/tinyshakespeare.txt`)!, 'utf8').slice(-6000);
  const tokens = Number(option(args, 'tokens', '200'));
  const rows: Record<string, unknown>[] = [];
  for (const checkpoint of checkpoints) {
    for (const device of devices) {
      let reference: Float32Array | null = null;
      for (const mode of ['float32', 'int8', 'int4'] as const) {
        const { model, tokenizer } = loadGPT(checkpoint, { device, ...(mode === 'float32' ? {} : { quantize: mode }) });
        // the model's own memory: every parameter and buffer storage once (tied ones once)
        const storages = new Set([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)].map((t) => t.storage));
        const weights = [...storages].reduce((n, s) => n + getBackend(device).storageBytes(s), 0);
        // a character vocabulary may lack some of the text's characters: leave those out
        const known = [...text].filter((c) => { try { tokenizer.encode(c, { specialAsText: true }); return true; } catch { return false; } }).join('');
        const ids = tokenizer.encode(known, { specialAsText: true });
        const prompt = ids.slice(0, Math.min(16, model.config.blockSize));
        const logits = noGrad(() => model.forward(tensor([prompt], { device })).logits);
        const last = (await logits.data()) as Float32Array;
        logits.dispose();
        if (mode === 'float32') reference = Float32Array.from(last);
        let deviation = 0;
        for (let i = 0; i < last.length; i++) deviation = Math.max(deviation, Math.abs(last[i]! - reference![i]!));
        const ppl = await perplexity(model, ids.slice(0, Math.min(ids.length, 8 * model.config.blockSize + 1)));
        await generate(model, [prompt], { maxNewTokens: 8, temperature: 0 }); // warm-up
        const t0 = performance.now();
        await generate(model, [prompt], { maxNewTokens: tokens, temperature: 0 });
        const seconds = (performance.now() - t0) / 1000;
        rows.push({ checkpoint: checkpoint.split('/').slice(-1)[0], device, mode, weightsMiB: +(weights / 2 ** 20).toFixed(2), maxLogitDeviation: +deviation.toExponential(2), perplexity: +ppl.toFixed(3), tokensPerSec: +(tokens / seconds).toFixed(1) });
        model.dispose();
      }
    }
  }
  return { rows, meta: { tokens, textChars: text.length } };
}
