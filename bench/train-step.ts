/**
 * One GPT training step (forward, backward, AdamW) timed like bench/peers/torch_gpt_step.py: the
 * same model (biases, exact GELU, head tied to the embedding, no dropout) and optimizer (AdamW
 * lr 3e-4, weight decay 0.1 on every parameter), fixed random tokens, median of --steps steps after
 * 5 warm-up steps. `--peer python3` runs the PyTorch side in the same run.
 *
 *   npm run bench -- train-step --preset tiny,small --device cpu --peer /usr/bin/python3 --threads 2
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getNumThreads, manualSeed, randint, setNumThreads, tidy, type Device } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';
import { AdamW } from '@llmts/nn';
import { GPT } from '@llmts/gpt';

const PRESETS: Record<string, { V: number; T: number; B: number; L: number; H: number; C: number }> = {
  'shakespeare-char': { V: 65, T: 256, B: 64, L: 6, H: 6, C: 384 },
  'shakespeare-char-cpu': { V: 65, T: 64, B: 12, L: 4, H: 4, C: 128 },
  tiny: { V: 65, T: 64, B: 16, L: 2, H: 4, C: 64 },
  small: { V: 65, T: 128, B: 32, L: 4, H: 4, C: 128 },
  'gpt2-124m': { V: 50304, T: 1024, B: 8, L: 12, H: 12, C: 768 },
};

function option(args: string[], name: string, fallback?: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

export async function run(args: string[]) {
  const device = (option(args, 'device', 'cpu') as Device);
  const steps = Number(option(args, 'steps', '20'));
  const threads = option(args, 'threads');
  if (threads) setNumThreads(Number(threads));
  const rows: Record<string, unknown>[] = [];
  for (const name of option(args, 'preset', 'tiny,small')!.split(',')) {
    const c = PRESETS[name];
    if (!c) throw new Error(`train-step: unknown preset ${name} (valid: ${Object.keys(PRESETS).join(', ')})`);
    manualSeed(0);
    const model = new GPT({ vocabSize: c.V, blockSize: c.T, nLayer: c.L, nHead: c.H, nEmbd: c.C, dropout: 0, bias: true, gelu: 'none', tiedEmbeddings: true }, { device });
    const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 0.1 });
    const x = randint(0, c.V, [c.B, c.T], { device });
    const y = randint(0, c.V, [c.B, c.T], { device });
    const step = async () => {
      const loss = tidy(() => {
        const l = model.forward(x, y).loss!;
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      await getBackend(device).sync();
      loss.dispose();
    };
    for (let i = 0; i < 5; i++) await step();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)]!;
    rows.push({ impl: `llm.ts ${device}`, preset: name, params: model.numParameters(), 'ms/step': +ms.toFixed(1), 'tokens/s': Math.round((c.B * c.T * 1000) / ms), threads: device === 'cpu' ? getNumThreads() : '' });
    const peer = option(args, 'peer');
    if (peer) {
      const script = fileURLToPath(new URL('./peers/torch_gpt_step.py', import.meta.url));
      const peerArgs = [script, '--preset', name, '--device', device === 'gpu' ? 'cuda' : 'cpu', '--steps', String(steps), ...(threads ? ['--threads', threads] : []), ...(option(args, 'mode') ? ['--mode', option(args, 'mode')!] : [])];
      const r = spawnSync(peer, peerArgs, { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
      if (r.status !== 0) throw new Error(`peer failed: ${r.stderr}`);
      const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number; tokens_per_s: number; params: number; torch: string; mode: string };
      rows.push({ impl: `torch ${o.torch} ${o.mode}`, preset: name, params: o.params, 'ms/step': +o.ms_per_step.toFixed(1), 'tokens/s': Math.round(o.tokens_per_s), threads: threads ?? '' });
      rows.push({ impl: 'ratio llm.ts / torch', preset: name, params: '', 'ms/step': +(ms / o.ms_per_step).toFixed(2), 'tokens/s': '', threads: '' });
    }
  }
  return { rows, meta: { device } };
}
