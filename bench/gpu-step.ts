/**
 * What one trainer step costs the device, in figures that do not depend on the hardware: kernel
 * launches, GPU dispatches and submits, bind groups, bytes alive at the peak (parameters, gradients
 * and optimizer state included), host µs spent encoding per dispatch (the mean over the steps; and of
 * it, the µs inside Dawn's own calls) and host ms spent encoding the median step; and ms/step. The
 * step is the trainer's own (`trainStep`: forward, backward, gradient clipping, AdamW) on the
 * preset's model with its dropout, weight decay and clipping, on a fixed random batch, measured two
 * ways on the GPU: op by op (`eager`), and replayed from a captured graph as `llmts train` takes
 * its steps there (`graph`: the batch copied into the graph's inputs, then one replay; its figures
 * are the row's `replayed …` columns).
 *
 *   npm run bench -- gpu-step                                   # shakespeare-char and gpt2-124m on the GPU
 *   npm run bench -- gpu-step --preset shakespeare-char --batch 2 --steps 3 --mode graph
 *   npm run bench -- gpu-step --preset gpt2-124m --batch 1 --device cpu     # the peak at 1 x 1024 tokens
 *
 * Defaults: on a hardware GPU the preset's batch and block; on a software adapter (lavapipe) batch
 * 1 and the preset's block. `--block N` and `--vocab-size N` shrink the model's context and
 * vocabulary (the counts per step do not change with them; bytes and time do).
 */
import { manualSeed, memoryStats, randint, resetPeakMemory, type Device } from '@llmts/tensor';
import { getBackend, initWebGPU, webgpuBackend } from '@llmts/tensor/internal';
import { AdamW } from '@llmts/nn';
import { GPT, TrainStepper, getPreset, makeConfig } from '@llmts/gpt';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function positive(args: string[], name: string): number | undefined {
  const raw = option(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`gpu-step: --${name} must be a positive integer, got '${raw}'`);
  return n;
}

/** The corpus a preset is made for: Tiny Shakespeare's 65 characters, or GPT-2's 50,257 tokens. */
function defaultVocab(preset: string): number {
  return preset.includes('char') ? 65 : 50257;
}

/** One row of the table: the per-step figures of one preset on one device. */
export interface StepFigures {
  preset: string;
  device: string;
  /** `eager`: every op run as called; `graph`: a captured step replayed (the trainer's way on the GPU). */
  mode: StepMode;
  shape: string;
  params: number;
  'ms/step': number;
  kernels: number;
  dispatches: number;
  submits: number;
  bindGroups: number;
  /** Dispatches that bound a tensor larger than one storage binding in windows. */
  windowed: number;
  'host µs/dispatch': number;
  /** Of that, the µs inside Dawn's (the driver's) encoding and submitting calls; the rest is llm.ts's own. */
  'driver µs/dispatch': number;
  /** Host time encoding the median step (what a fast GPU waits on). */
  'host ms/step': number;
  'peak MiB': number;
  'params+state MiB': number;
  /** On the GPU, the same step replayed from a captured graph (`llmts train`'s way there): its figures. */
  'replayed dispatches'?: number;
  'replayed host µs/dispatch'?: number;
  'replayed host ms/step'?: number;
  'replayed ms/step'?: number;
  error?: string;
}

export type StepMode = 'eager' | 'graph';

/** Measure `steps` trainer steps of one preset after `warmup` steps (pipelines compiled, pools filled; a graph captured). */
export async function measureStep(name: string, device: Device, o: { batch?: number; block?: number; vocabSize?: number; nLayer?: number; steps: number; warmup: number; mode?: StepMode }): Promise<StepFigures> {
  const mode = o.mode ?? 'eager';
  if (mode === 'graph' && device !== 'gpu') throw new Error('gpu-step: --mode graph replays a captured step on the GPU; the CPU runs op by op');
  const preset = getPreset(name);
  const software = device === 'gpu' && (webgpuBackend()?.software ?? false);
  const batch = o.batch ?? (device === 'gpu' && !software ? preset.train.batchSize : 1);
  const config = makeConfig({ ...preset.model, ...(o.block !== undefined ? { blockSize: o.block } : {}), ...(o.nLayer !== undefined ? { nLayer: o.nLayer } : {}), vocabSize: o.vocabSize ?? defaultVocab(name) });
  const shape = `${batch}x${config.blockSize}, vocab ${config.vocabSize}${o.nLayer !== undefined ? `, ${config.nLayer} layers` : ''}`;
  const backend = getBackend(device);
  manualSeed(0);
  let model: GPT | null = null;
  let optimizer: AdamW | null = null;
  const base = { preset: name, device: device === 'gpu' ? `gpu (${webgpuBackend()!.describe()})` : 'cpu', mode, shape };
  let stepper: TrainStepper | null = null;
  try {
    model = new GPT(config, { device });
    model.train();
    const tc = preset.train;
    optimizer = new AdamW(model.optimizerGroups(tc.weightDecay), { lr: tc.learningRate, betas: [tc.beta1, tc.beta2], eps: 1e-8 });
    const x = randint(0, config.vocabSize, [batch, config.blockSize], { device });
    const y = randint(0, config.vocabSize, [batch, config.blockSize], { device });
    const settings = { gradClip: tc.gradClip };
    const steps = (stepper = new TrainStepper(model, optimizer, settings, { captureGraph: mode === 'graph' }));
    // the stepper disposes the batches it is given: hand it views
    const views = () => ({ x: x.view(x.shape), y: y.view(y.shape) });
    const step = async () => {
      const loss = steps.step(views);
      await backend.sync();
      steps.release(loss);
    };
    // a graph is captured at its second step
    for (let i = 0; i < Math.max(o.warmup, mode === 'graph' ? 2 : 0); i++) await step();
    await backend.sync();
    const paramsAndState = memoryStats(device).liveBytes;
    resetPeakMemory(device);
    backend.resetCounters();
    const times: number[] = [];
    const hostTimes: number[] = [];
    for (let i = 0; i < o.steps; i++) {
      const t0 = performance.now();
      const host0 = backend.counters().hostMs;
      await step();
      times.push(performance.now() - t0);
      hostTimes.push(backend.counters().hostMs - host0);
    }
    const c = backend.counters();
    // a graph's temporaries are reserved for it rather than live: counted in its peak
    const stats = memoryStats(device);
    const peak = stats.peakBytes + (stats.graphBytes ?? 0);
    times.sort((a, b) => a - b);
    hostTimes.sort((a, b) => a - b);
    x.dispose();
    y.dispose();
    const per = (v: number) => Math.round(v / o.steps);
    return {
      ...base,
      params: model.numParameters(),
      'ms/step': +times[Math.floor(times.length / 2)]!.toFixed(1),
      kernels: per(c.kernels),
      dispatches: per(c.dispatches),
      submits: per(c.submits),
      bindGroups: per(c.bindGroups),
      windowed: per(c.windowedDispatches),
      'host µs/dispatch': c.dispatches > 0 ? +((c.hostMs * 1000) / c.dispatches).toFixed(1) : 0,
      'driver µs/dispatch': c.dispatches > 0 ? +((c.driverMs * 1000) / c.dispatches).toFixed(1) : 0,
      'host ms/step': +hostTimes[Math.floor(hostTimes.length / 2)]!.toFixed(2),
      'peak MiB': +(peak / 2 ** 20).toFixed(1),
      'params+state MiB': +(paramsAndState / 2 ** 20).toFixed(1),
    };
  } catch (e) {
    return { ...base, params: model?.numParameters() ?? 0, 'ms/step': NaN, kernels: 0, dispatches: 0, submits: 0, bindGroups: 0, windowed: 0, 'host µs/dispatch': 0, 'driver µs/dispatch': 0, 'host ms/step': 0, 'peak MiB': 0, 'params+state MiB': 0, error: (e as Error).message.split('\n')[0]! };
  } finally {
    stepper?.dispose();
    optimizer?.dispose();
    model?.dispose();
  }
}

/**
 * One row per preset: the step op by op and, on the GPU unless `modes` leaves it out, the
 * replayed step's figures beside them (with only `graph`, the replayed step's own row).
 */
export async function measurePreset(name: string, device: Device, o: Parameters<typeof measureStep>[2], modes: readonly StepMode[] = device === 'gpu' ? ['eager', 'graph'] : ['eager']): Promise<StepFigures> {
  if (!modes.includes('eager')) return measureStep(name, device, { ...o, mode: 'graph' });
  const row = await measureStep(name, device, { ...o, mode: 'eager' });
  if (!modes.includes('graph') || row.error !== undefined) return row;
  const g = await measureStep(name, device, { ...o, mode: 'graph' });
  if (g.error !== undefined) return { ...row, error: `replayed: ${g.error}` };
  return { ...row, 'replayed dispatches': g.dispatches, 'replayed host µs/dispatch': g['host µs/dispatch'], 'replayed host ms/step': g['host ms/step'], 'replayed ms/step': g['ms/step'] };
}

export async function run(args: string[]) {
  const device = (option(args, 'device') ?? 'gpu') as Device;
  if (device !== 'gpu' && device !== 'cpu') throw new Error(`gpu-step: --device must be gpu or cpu, got '${device}'`);
  if (device === 'gpu') await initWebGPU();
  const software = device === 'gpu' && webgpuBackend()!.software;
  const steps = positive(args, 'steps') ?? (software || device === 'cpu' ? 2 : 10);
  const warmup = positive(args, 'warmup') ?? 2;
  const modes = (option(args, 'mode') ?? (device === 'gpu' ? 'eager,graph' : 'eager')).split(',') as StepMode[];
  for (const m of modes) if (m !== 'eager' && m !== 'graph') throw new Error(`gpu-step: --mode takes eager and/or graph, got '${m}'`);
  const rows: StepFigures[] = [];
  for (const name of (option(args, 'preset') ?? 'shakespeare-char,gpt2-124m').split(',')) {
    const o = { steps, warmup, ...(positive(args, 'batch') !== undefined ? { batch: positive(args, 'batch')! } : {}), ...(positive(args, 'block') !== undefined ? { block: positive(args, 'block')! } : {}), ...(positive(args, 'vocab-size') !== undefined ? { vocabSize: positive(args, 'vocab-size')! } : {}) };
    rows.push(await measurePreset(name, device, o, modes));
  }
  return { rows: rows as unknown as Record<string, unknown>[], meta: { device, steps, warmup, modes } };
}
