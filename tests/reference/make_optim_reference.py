"""PyTorch optimizer trajectories for llm.ts tests.

Run with Debian's torch (python3-torch):  /usr/bin/python3 tests/reference/make_optim_reference.py
Writes tests/reference/torch-optim.json. A tiny two-layer model is trained for 25 steps on fixed
data in float64 with each optimizer configuration; the parameters after every step are recorded,
so the TypeScript side can replay the same steps and compare the whole trajectory.
"""
import json, math, os
import torch

torch.manual_seed(0)
dt = torch.float64
X = torch.randn(8, 4, dtype=dt)
Y = torch.randn(8, 2, dtype=dt)
init = {'w1': torch.randn(4, 3, dtype=dt) * 0.5, 'b1': torch.randn(3, dtype=dt) * 0.1, 'w2': torch.randn(3, 2, dtype=dt) * 0.5}


def loss_fn(p):
    return ((torch.tanh(X @ p['w1'] + p['b1']) @ p['w2'] - Y) ** 2).mean()


def lr_at(it, max_lr=0.05, min_lr=0.005, warmup=5, decay=20):
    if it < warmup:
        return max_lr * (it + 1) / (warmup + 1)
    if it >= decay:
        return min_lr
    r = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * r)) * (max_lr - min_lr)


configs = [
    ('adamw_groups', lambda p: torch.optim.AdamW([{'params': [p['w1'], p['w2']], 'weight_decay': 0.1}, {'params': [p['b1']], 'weight_decay': 0.0}], lr=1e-2, betas=(0.9, 0.95), eps=1e-8), None, None),
    ('adamw_defaults', lambda p: torch.optim.AdamW(p.values(), lr=1e-3), None, None),
    ('adam_l2', lambda p: torch.optim.Adam(p.values(), lr=1e-2, weight_decay=0.01), None, None),
    ('sgd_plain', lambda p: torch.optim.SGD(p.values(), lr=0.1), None, None),
    ('sgd_momentum_dampening_wd', lambda p: torch.optim.SGD(p.values(), lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), None, None),
    ('sgd_nesterov', lambda p: torch.optim.SGD(p.values(), lr=0.05, momentum=0.9, nesterov=True), None, None),
    ('adamw_clip_schedule', lambda p: torch.optim.AdamW(p.values(), lr=0.05, betas=(0.9, 0.99), weight_decay=0.1), 0.5, lr_at),
]

out = []
for name, make, clip, schedule in configs:
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    opt = make(params)
    steps, norms, losses = [], [], []
    for it in range(25):
        if schedule:
            for g in opt.param_groups:
                g['lr'] = schedule(it)
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        losses.append(loss.item())
        if clip is not None:
            norms.append(torch.nn.utils.clip_grad_norm_(params.values(), clip).item())
        opt.step()
        steps.append({k: v.detach().flatten().tolist() for k, v in params.items()})
    out.append({'name': name, 'clip': clip, 'schedule': schedule is not None, 'losses': losses, 'norms': norms, 'steps': steps})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch-optim.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'X': X.flatten().tolist(), 'Y': Y.flatten().tolist(),
               'init': {k: {'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in init.items()}, 'configs': out}, f)
print(f'wrote {len(out)} trajectories to {path}')
