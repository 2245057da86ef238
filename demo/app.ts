/**
 * The llm.ts demo page: train a character GPT on pasted text with a live loss chart, stop, resume
 * and download it; load a checkpoint (made by `npm start`, `llmts train`, or any GPT-2-format
 * directory) from dropped files and sample from it, streaming tokens as they come. Everything runs
 * in the page: WebGPU when the browser has an adapter, else the CPU backend's WebAssembly kernels
 * (on several threads when the page is cross-origin isolated, which `npm run demo` serves it as).
 */
import { init, manualSeed, type InitResult } from '@llmts/tensor';
import { TextStream, TextTrainer, generate, gptToTar, loadGPTFromFiles, nextTask, usesGPT2Tokenizer, type GPT, type TextStepResult } from '@llmts/gpt';
import type { Tokenizer } from '@llmts/data';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

/** What the page holds, also read by the browser test (window.llmtsDemo). */
const demo = {
  device: '' as string,
  init: null as InitResult | null,
  model: null as { model: GPT; tokenizer: Tokenizer; source: string } | null,
  trainer: null as TextTrainer | null,
  training: false,
  stopRequested: false,
  losses: [] as { iter: number; loss: number }[],
  vals: [] as { iter: number; train: number; val: number }[],
  lastTokens: [] as number[],
  generating: false,
  tokensPerSec: { train: 0, sample: 0 },
};
(window as unknown as { llmtsDemo: typeof demo }).llmtsDemo = demo;

function showError(where: 'train' | 'sample', e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  $(`${where}-error`).textContent = message;
  console.warn(`llm.ts demo (${where}): ${message}`);
}

// ---- device ----

/**
 * The device, as `?device=` asks: 'auto' (default) takes a hardware GPU and otherwise the CPU, which
 * beats a software adapter such as SwiftShader (still usable with 'gpu'); 'gpu' takes any adapter;
 * 'cpu' the CPU. Without an adapter the page says why and runs on the CPU.
 */
async function startDevice(): Promise<void> {
  const asked = new URLSearchParams(location.search).get('device');
  const choice = asked === 'cpu' || asked === 'gpu' ? asked : 'auto';
  $<HTMLSelectElement>('device-choice').value = choice;
  const wasmBase = new URL('./wasm/', location.href);
  let note = '';
  let result: InitResult;
  try {
    result = await init({ device: choice, wasmBase });
  } catch (e) {
    result = await init({ device: 'cpu', wasmBase }); // 'gpu' without an adapter
    note = `WebGPU is not available here (${(e as Error).message.replace(/^init\(\{ device: 'gpu' \}\), but /, '')}), so the CPU runs everything.`;
  }
  demo.init = result;
  const g = result.gpu;
  if (result.device === 'gpu' && g) {
    demo.device = `WebGPU: ${g.description}`;
    if (g.software) note = 'A software adapter: correct, but slower than the CPU backend here.';
  } else {
    demo.device = 'CPU (WebAssembly)';
    if (choice === 'auto' && g?.software) note = `The only WebGPU adapter is a software one (${g.description}), slower than the CPU backend: choose WebGPU to use it anyway.`;
    else if (choice === 'auto' && result.gpuProblem) note = `WebGPU is not available here (${result.gpuProblem}), so the CPU runs everything.`;
  }
  const cpu = result.cpu;
  const cpuLine = `CPU backend: ${cpu.kernels === 'typescript' ? 'TypeScript kernels' : `WebAssembly ${cpu.kernels}`}, ${cpu.threads} thread${cpu.threads === 1 ? '' : 's'}${crossOriginIsolated ? '' : ' (the page is not cross-origin isolated, so no worker threads)'}${cpu.problem ? ` — ${cpu.problem}` : ''}.`;
  $('device').textContent = demo.device;
  $('device-note').textContent = [note, cpuLine].filter(Boolean).join(' ');
  $('device').dataset.ready = 'true';
}

$<HTMLSelectElement>('device-choice').addEventListener('change', (e) => {
  const v = (e.target as HTMLSelectElement).value;
  const url = new URL(location.href);
  if (v === 'auto') url.searchParams.delete('device');
  else url.searchParams.set('device', v);
  location.href = url.href;
});

// ---- the model in use ----

function setModel(model: GPT, tokenizer: Tokenizer, source: string): void {
  if (demo.model && demo.model.model !== model && demo.model.model !== demo.trainer?.model) demo.model.model.dispose();
  demo.model = { model, tokenizer, source };
  const c = model.config;
  const params = model.parameters().reduce((n, p) => n + p.numel(), 0);
  $('model-info').textContent = `${source}: ${c.nLayer} layer${c.nLayer === 1 ? '' : 's'}, ${c.nHead} head${c.nHead === 1 ? '' : 's'}, ${c.nEmbd} wide, block ${c.blockSize}, vocabulary ${c.vocabSize} (${(params / 1e6).toFixed(2)}M parameters) on ${demo.device}.`;
  $<HTMLButtonElement>('generate').disabled = false;
}

// ---- checkpoints from files ----

const WANTED = /^(config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d+-of-\d+\.safetensors|tokenizer\.json|vocab\.json|merges\.txt|adapter_config\.json|.*\.tar)$/;

interface Picked { path: string; file: File }

/** The files of one checkpoint among those given: a training run's best/ (else last/), or the folder with config.json. */
function chooseCheckpoint(all: Picked[]): Picked[] {
  const dirOf = (p: string) => p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const tars = all.filter((f) => base(f.path).endsWith('.tar'));
  if (tars.length === 1 && !all.some((f) => base(f.path) === 'config.json')) return tars;
  const dirs = [...new Set(all.filter((f) => base(f.path) === 'config.json').map((f) => dirOf(f.path)))];
  if (dirs.length === 0) throw new Error(`no config.json among the ${all.length} file(s) given: drop a checkpoint folder (config.json, model.safetensors, tokenizer.json) or a .tar`);
  const pick = dirs.find((d) => /(^|\/)best$/.test(d)) ?? dirs.find((d) => /(^|\/)last$/.test(d)) ?? dirs.sort((a, b) => a.length - b.length)[0]!;
  return all.filter((f) => dirOf(f.path) === pick && WANTED.test(base(f.path)));
}

async function loadCheckpointFiles(all: Picked[]): Promise<void> {
  $('sample-error').textContent = '';
  try {
    const chosen = chooseCheckpoint(all);
    const files = new Map<string, Uint8Array>();
    for (const f of chosen) files.set(f.path.slice(f.path.lastIndexOf('/') + 1), new Uint8Array(await f.file.arrayBuffer()));
    await addGPT2Tables(files);
    const first = chosen[0]!.path;
    const where = first.includes('/') ? first.slice(0, first.lastIndexOf('/')) : first.endsWith('.tar') ? first : 'checkpoint';
    const loaded = loadGPTFromFiles(files, { where, device: demo.init?.device ?? 'cpu' });
    setModel(loaded.model, loaded.tokenizer, `Loaded ${where}`);
  } catch (e) {
    showError('sample', e);
  }
}

/**
 * A Hugging Face GPT-2 directory often has no tokenizer files (the hub supplies GPT-2's): when its
 * config says GPT-2's vocabulary, GPT-2's tables are fetched from the page's gpt2/ folder.
 */
async function addGPT2Tables(files: Map<string, Uint8Array>): Promise<void> {
  if (files.has('tokenizer.json') || files.has('vocab.json') || !files.has('config.json')) return;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>;
  } catch {
    return; // loadGPTFromFiles names the broken file
  }
  if (config === null || typeof config !== 'object' || !usesGPT2Tokenizer(config)) return;
  const [vocab, merges] = await Promise.all(['gpt2/encoder.json', 'gpt2/vocab.bpe'].map(async (name) => {
    const res = await fetch(name);
    if (!res.ok) throw new Error(`GPT-2's tokenizer tables: fetching ${name} gave HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }));
  files.set('vocab.json', vocab!);
  files.set('merges.txt', merges!);
}

const asPicked = (list: FileList | null): Picked[] => [...(list ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
$<HTMLInputElement>('files').addEventListener('change', (e) => void loadCheckpointFiles(asPicked((e.target as HTMLInputElement).files)));
$<HTMLInputElement>('folder').addEventListener('change', (e) => void loadCheckpointFiles(asPicked((e.target as HTMLInputElement).files)));

/** Every file under a dropped entry, with its path. */
async function walk(entry: FileSystemEntry, into: Picked[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    into.push({ path: entry.fullPath.replace(/^\//, ''), file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, into);
  }
}

const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
  void (async () => {
    const all: Picked[] = [];
    for (const entry of entries) await walk(entry, all);
    await loadCheckpointFiles(all);
  })();
});

// ---- sampling ----

async function sample(): Promise<void> {
  if (!demo.model || demo.generating) return;
  $('sample-error').textContent = '';
  const { model, tokenizer } = demo.model;
  const out = $('output');
  out.textContent = '';
  out.dataset.state = 'running';
  demo.generating = true;
  $<HTMLButtonElement>('generate').disabled = true;
  $<HTMLButtonElement>('stop-generate').disabled = false;
  let stop = false;
  $('stop-generate').onclick = () => { stop = true; };
  try {
    const text = $<HTMLTextAreaElement>('prompt').value;
    const eot = tokenizer.specialId('<|endoftext|>');
    const prompt = text !== '' ? tokenizer.encode(text, { allowedSpecial: 'all' }) : eot !== undefined ? [eot] : tokenizer.encode('\n');
    if (prompt.length === 0) throw new Error('the prompt encodes to no tokens');
    const bad = prompt.find((id) => id >= model.config.vocabSize);
    if (bad !== undefined) throw new Error(`prompt token ${bad} is outside the model's vocabulary of ${model.config.vocabSize}`);
    manualSeed(num('seed'));
    out.textContent = text;
    // tokens arrive faster than frames: text is appended once per frame (reading scrollHeight per
    // token forced a layout each time and cut sampling to a tenth of its speed)
    let pending = '';
    let queued = false;
    const flush = () => {
      queued = false;
      if (pending === '') return;
      out.append(pending);
      pending = '';
      out.scrollTop = out.scrollHeight;
    };
    const stream = new TextStream(tokenizer, (s) => {
      pending += s;
      if (!queued) {
        queued = true;
        requestAnimationFrame(flush);
      }
    });
    const topK = num('top-k'), topP = num('top-p');
    const t0 = performance.now();
    let count = 0;
    const [tokens] = await generate(model, [prompt], {
      maxNewTokens: num('max-new-tokens'),
      temperature: num('temperature'),
      ...(topK > 0 ? { topK } : {}),
      ...(topP < 1 ? { topP } : {}),
      onToken: (t) => {
        stream.push(t);
        count++;
        return !stop;
      },
    });
    stream.end();
    flush();
    demo.lastTokens = tokens!;
    const seconds = (performance.now() - t0) / 1000;
    demo.tokensPerSec.sample = count / seconds;
    $('gen-speed').textContent = `${count} tokens in ${seconds.toFixed(2)} s (${demo.tokensPerSec.sample.toFixed(1)} tokens/s)`;
    out.dataset.tokens = JSON.stringify(tokens);
  } catch (e) {
    showError('sample', e);
  } finally {
    demo.generating = false;
    out.dataset.state = 'done';
    $<HTMLButtonElement>('generate').disabled = false;
    $<HTMLButtonElement>('stop-generate').disabled = true;
  }
}
$('generate').addEventListener('click', () => void sample());

// ---- training ----

let chartQueued = false;
/** Redraw the chart at the next frame (once, however many steps finish before it). */
function queueChart(): void {
  if (chartQueued) return;
  chartQueued = true;
  requestAnimationFrame(() => {
    chartQueued = false;
    drawChart();
  });
}

function drawChart(): void {
  const canvas = $<HTMLCanvasElement>('chart');
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width, H = canvas.height, L = 48, R = 12, T = 10, B = 24;
  ctx.clearRect(0, 0, W, H);
  const pts = demo.losses;
  if (pts.length === 0) return;
  const xMax = Math.max(num('max-iters'), pts[pts.length - 1]!.iter);
  const ys = [...pts.map((p) => p.loss), ...demo.vals.flatMap((v) => [v.train, v.val].filter(Number.isFinite))];
  const yMin = Math.min(...ys) * 0.95, yMax = Math.max(...ys) * 1.02;
  const x = (i: number) => L + ((W - L - R) * i) / xMax;
  const y = (v: number) => T + ((H - T - B) * (yMax - v)) / (yMax - yMin || 1);
  ctx.strokeStyle = '#ddd';
  ctx.fillStyle = '#555';
  ctx.font = '11px sans-serif';
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    ctx.beginPath(); ctx.moveTo(L, y(v)); ctx.lineTo(W - R, y(v)); ctx.stroke();
    ctx.fillText(v.toFixed(2), 4, y(v) + 4);
  }
  ctx.fillText('iteration', W - R - 50, H - 6);
  ctx.fillText(String(xMax), W - R - 80, H - 6);
  ctx.strokeStyle = '#1f77b4';
  ctx.beginPath();
  pts.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.iter), y(p.loss)) : ctx.lineTo(x(p.iter), y(p.loss))));
  ctx.stroke();
  ctx.fillStyle = '#d62728';
  for (const v of demo.vals) if (Number.isFinite(v.val)) { ctx.beginPath(); ctx.arc(x(v.iter), y(v.val), 3, 0, 7); ctx.fill(); }
  ctx.fillStyle = '#1f77b4';
  ctx.fillText('train loss', L + 8, T + 12);
  ctx.fillStyle = '#d62728';
  ctx.fillText('val loss (dots)', L + 80, T + 12);
}

function showStep(r: TextStepResult, target: number, msPerStep: number): void {
  $('iter').textContent = `iter ${r.iter}/${target}`;
  $('loss').textContent = `loss ${r.loss.toFixed(4)}`;
  $('speed').textContent = `${Math.round(r.tokensPerSec).toLocaleString('en')} tokens/s`;
  const left = Math.max(0, target - r.iter) * msPerStep / 1000;
  $('eta').textContent = left > 0 ? `ETA ${left < 90 ? `${left.toFixed(0)} s` : `${(left / 60).toFixed(1)} min`}` : '';
}

async function evaluate(): Promise<void> {
  const t = demo.trainer!;
  const est = await t.estimateLoss();
  demo.vals.push({ iter: t.iter, ...est });
  $('val').textContent = `val ${est.val.toFixed(4)}`;
}

/** Train until the iteration target or Stop; the trained model becomes the one to sample. */
async function runTraining(): Promise<void> {
  const t = demo.trainer!;
  const target = Math.max(num('max-iters'), 1);
  demo.training = true;
  demo.stopRequested = false;
  $('train-section').dataset.state = 'running';
  for (const [id, on] of [['train', false], ['stop', true], ['resume', false], ['download', false], ['generate', false]] as const) $<HTMLButtonElement>(id).disabled = !on;
  const evalEvery = Math.max(25, Math.round(target / 10));
  let ms = 0;
  const timed: number[] = [];
  try {
    while (t.iter < target && !demo.stopRequested) {
      const r = await t.step();
      demo.losses.push({ iter: r.iter, loss: r.loss });
      timed.push(r.ms);
      ms = timed.slice(-20).reduce((a, b) => a + b, 0) / Math.min(timed.length, 20);
      if (timed.length > 1) demo.tokensPerSec.train = (t.tokensPerStep / ms) * 1000; // the first step compiles kernels
      showStep(r, target, ms);
      if (r.iter % evalEvery === 0) await evaluate();
      queueChart();
      await nextTask(); // let Stop be clicked and the page paint
    }
    if (demo.vals.at(-1)?.iter !== t.iter) await evaluate();
    drawChart();
  } catch (e) {
    showError('train', e);
  } finally {
    demo.training = false;
    $('train-section').dataset.state = 'stopped';
    setModel(t.model, t.tokenizer, `Trained here (${t.iter} iterations)`);
    for (const [id, on] of [['train', true], ['stop', false], ['resume', true], ['download', true], ['generate', true]] as const) $<HTMLButtonElement>(id).disabled = !on;
  }
}

$('train').addEventListener('click', () => {
  $('train-error').textContent = '';
  try {
    const text = $<HTMLTextAreaElement>('train-text').value;
    if (text.length === 0) throw new Error('paste some text to train on first');
    if (demo.model && demo.model.model !== demo.trainer?.model) demo.model.model.dispose();
    demo.trainer?.dispose();
    demo.model = null;
    demo.trainer = null;
    demo.losses = [];
    demo.vals = [];
    manualSeed(1337);
    const lr = num('lr');
    demo.trainer = TextTrainer.fromText(text, {
      model: { nLayer: num('n-layer'), nHead: num('n-head'), nEmbd: num('n-embd'), blockSize: num('block-size'), dropout: 0 },
      batchSize: num('batch-size'),
      maxIters: num('max-iters'),
      learningRate: lr,
      minLr: lr / 10,
      warmupIters: Math.min(100, Math.floor(num('max-iters') / 10)),
      evalIters: 10,
      device: demo.init?.device ?? 'cpu',
    });
  } catch (e) {
    showError('train', e);
    return;
  }
  void runTraining();
});
$('stop').addEventListener('click', () => { demo.stopRequested = true; });
$('resume').addEventListener('click', () => { if (demo.trainer && !demo.training) void runTraining(); });
$('download').addEventListener('click', () => {
  const t = demo.trainer;
  if (!t) return;
  void (async () => {
    try {
      const tar = await gptToTar(t.model, t.tokenizer, 'llmts-browser-char', { extras: { source: 'the llm.ts browser demo', iterations: t.iter } });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([tar as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }));
      a.download = 'llmts-browser-char.tar';
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      showError('train', e);
    }
  })();
});

// ---- start ----

void (async () => {
  try {
    await startDevice();
  } catch (e) {
    $('device').textContent = 'failed to start';
    showError('train', e);
    return;
  }
  try {
    const res = await fetch('./shakespeare.txt');
    if (res.ok) $<HTMLTextAreaElement>('train-text').value = await res.text();
  } catch {
    // the textarea stays empty: paste text instead
  }
  document.body.dataset.ready = 'true';
})();
