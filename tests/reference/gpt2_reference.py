"""A GPT-2 forward pass written from the model's definition, in PyTorch (float64), reading a
Hugging Face GPT-2 directory (config.json + model.safetensors) without `transformers` or the
`safetensors` package. It proves that directories written by llm.ts load as GPT-2 where
transformers is not installed: the same math transformers.GPT2LMHeadModel runs.

Run with Debian's torch (python3-torch):
  /usr/bin/python3 tests/reference/gpt2_reference.py DIR --ids 1,2,3 [--greedy 20] [--out FILE]
Prints (or writes) JSON: input_ids, last_logits, loss_next_token, greedy continuation.
"""
import argparse, json, math, struct, sys
import torch

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64}


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        raw = bytearray(data[8 + n + a:8 + n + b])
        t = torch.frombuffer(raw, dtype=DTYPES[e['dtype']]).reshape(e['shape']) if b > a else torch.zeros(e['shape'])
        tensors[name if name.startswith(('transformer.', 'lm_head.')) else 'transformer.' + name] = t.to(torch.float64)
    return tensors


def gelu(x, kind):
    if kind in ('gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def forward(cfg, W, ids):
    C, H, eps = cfg['n_embd'], cfg['n_head'], cfg.get('layer_norm_epsilon', 1e-5)
    act = cfg.get('activation_function', 'gelu_new')
    T = len(ids)
    x = W['transformer.wte.weight'][ids] + W['transformer.wpe.weight'][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for i in range(cfg['n_layer']):
        p = f'transformer.h.{i}.'
        h = layer_norm(x, W[p + 'ln_1.weight'], W[p + 'ln_1.bias'], eps)
        qkv = h @ W[p + 'attn.c_attn.weight'] + W[p + 'attn.c_attn.bias']  # Conv1D: [in, out]
        q, k, v = qkv.split(C, dim=-1)
        heads = lambda t: t.view(T, H, C // H).transpose(0, 1)
        q, k, v = heads(q), heads(k), heads(v)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ W[p + 'attn.c_proj.weight'] + W[p + 'attn.c_proj.bias']
        h = layer_norm(x, W[p + 'ln_2.weight'], W[p + 'ln_2.bias'], eps)
        h = gelu(h @ W[p + 'mlp.c_fc.weight'] + W[p + 'mlp.c_fc.bias'], act)
        x = x + h @ W[p + 'mlp.c_proj.weight'] + W[p + 'mlp.c_proj.bias']
    x = layer_norm(x, W['transformer.ln_f.weight'], W['transformer.ln_f.bias'], eps)
    head = W['transformer.wte.weight'] if cfg.get('tie_word_embeddings', True) else W['lm_head.weight']
    return x @ head.T  # (T, vocab)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--ids', required=True)
    ap.add_argument('--greedy', type=int, default=20)
    ap.add_argument('--out')
    a = ap.parse_args()
    cfg = json.load(open(f'{a.dir}/config.json'))
    assert cfg.get('model_type') == 'gpt2', 'not a GPT-2 config'
    W = read_safetensors(f'{a.dir}/model.safetensors')
    ids = [int(s) for s in a.ids.split(',')]
    logits = forward(cfg, W, ids)
    loss = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(ids[1:])).item()
    seq = list(ids)
    for _ in range(a.greedy):
        seq.append(int(forward(cfg, W, seq[-cfg['n_positions']:])[-1].argmax()))
    out = {'input_ids': ids, 'last_logits': logits[-1].tolist(), 'loss_next_token': loss, 'greedy': seq[len(ids):], 'torch': torch.__version__}
    text = json.dumps(out)
    if a.out:
        open(a.out, 'w').write(text + '\n')
    else:
        print(text)


if __name__ == '__main__':
    main()
