"""Reference values from PyTorch for llm.ts tests.

Run with Debian's torch (python3-torch):  /usr/bin/python3 tests/reference/make_reference.py
Writes tests/reference/torch-reference.json: for each case, the inputs, the output, and the
gradients of sum(output * weights) with respect to each float input (weights are stored too),
all computed in float64 so the TypeScript side can compare tightly.
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
dt = torch.float64
cases = []


def t(*shape, lo=-2.0, hi=2.0):
    return (torch.rand(*shape, dtype=dt) * (hi - lo) + lo)


def case(name, fn, inputs, **extra):
    """inputs: list of tensors; float ones get gradients."""
    xs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out = fn(*xs)
    w = torch.rand(out.shape, dtype=dt) * 2 - 1
    (out * w).sum().backward()
    cases.append({
        'name': name,
        'inputs': [{'shape': list(x.shape), 'dtype': 'float64' if x.is_floating_point() else 'int32',
                    'values': x.detach().flatten().tolist()} for x in xs],
        'output': {'shape': list(out.shape), 'values': out.detach().flatten().tolist()},
        'weights': w.flatten().tolist(),
        'grads': [x.grad.flatten().tolist() if x.grad is not None else None for x in xs],
        **extra,
    })


def causal_attention(q, k, v):
    T = q.shape[-2]
    mask = torch.tril(torch.ones(T, T, dtype=dt))
    att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])
    att = att.masked_fill(mask == 0, float('-inf'))
    return F.softmax(att, dim=-1) @ v


case('softmax', lambda x: F.softmax(x, dim=-1), [t(4, 7, lo=-4, hi=4)])
case('log_softmax_dim0', lambda x: F.log_softmax(x, dim=0), [t(5, 3, lo=-4, hi=4)])
case('softmax_then_cross_entropy', lambda x, y: F.cross_entropy(x, y), [t(6, 9, lo=-3, hi=3), torch.randint(0, 9, (6,))])
case('cross_entropy_ignore_index', lambda x, y: F.cross_entropy(x, y, ignore_index=-100),
     [t(6, 5), torch.tensor([1, -100, 4, 0, -100, 2])])
case('cross_entropy_label_smoothing', lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1), [t(5, 4), torch.randint(0, 4, (5,))])
case('cross_entropy_sum', lambda x, y: F.cross_entropy(x, y, reduction='sum'), [t(3, 4), torch.randint(0, 4, (3,))])
case('cross_entropy_none_3d', lambda x, y: F.cross_entropy(x, y, reduction='none'), [t(2, 5, 3), torch.randint(0, 5, (2, 3))])
case('cross_entropy_probs', lambda x, p: F.cross_entropy(x, p), [t(3, 4), torch.softmax(t(3, 4), -1)])
case('layer_norm', lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), [t(2, 3, 8), t(8), t(8)])
case('layer_norm_2d_no_affine', lambda x: F.layer_norm(x, (3, 4)), [t(2, 3, 4)])
case('gelu_exact', lambda x: F.gelu(x), [t(3, 5, lo=-4, hi=4)])
case('gelu_tanh', lambda x: F.gelu(x, approximate='tanh'), [t(3, 5, lo=-4, hi=4)])
case('causal_attention', causal_attention, [t(2, 2, 5, 4), t(2, 2, 5, 4), t(2, 2, 5, 4)])
case('matmul_broadcast', lambda a, b: a @ b, [t(2, 1, 3, 4), t(5, 4, 2)])
case('matmul_vector', lambda a, b: a @ b, [t(4), t(3, 4, 2)])
case('mlp', lambda x, w1, b1, w2, b2: torch.tanh(torch.relu(x @ w1 + b1) @ w2 + b2), [t(4, 3), t(3, 6), t(6), t(6, 2), t(2)])
case('var_std', lambda x: x.var(dim=1, keepdim=True) + x.std() + x.var(dim=(0, 2), unbiased=False).sum(), [t(2, 3, 4)])
case('amax_keepdim', lambda x: x.amax(dim=-1, keepdim=True) - x.amin(dim=0).sum(), [t(3, 4)])
case('elementwise_zoo', lambda a, b: torch.sigmoid(a) * torch.erf(b) + a.clamp(-0.5, 0.5) + torch.maximum(a, b) - torch.minimum(a, b) ** 2 + (b.abs() + 0.5).pow(a) + torch.where(a > b, a, b * 2), [t(3, 4), t(4)])
case('embedding', lambda w, i: F.embedding(i, w), [t(7, 3), torch.tensor([[1, 3, 3], [6, 0, 1]])])
case('gather_scatter', lambda x, i: x.gather(1, i) * 2, [t(3, 5), torch.tensor([[0, 4], [2, 2], [1, 3]])])
case('cat_stack_slice', lambda a, b: torch.cat([a, b], dim=1)[:, 1:5:2] + torch.stack([a, a], dim=0).sum(0)[:, :2].mean(), [t(2, 3), t(2, 4)])
case('tril_masked_mean', lambda x: torch.tril(x, diagonal=-1).mean(dim=0) + torch.triu(x).sum(), [t(4, 4)])

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch-reference.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f)
print(f'wrote {len(cases)} cases to {out}')
