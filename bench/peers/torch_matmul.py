"""PyTorch side of `npm run bench -- matmul`: float32 matmul throughput on the same machine.

  python3 bench/peers/torch_matmul.py --device cuda --sizes 64,128,...,4096   # TF32 off: like-for-like float32
  python3 bench/peers/torch_matmul.py --device cpu --threads 2

Prints one JSON line: {"torch": version, "device": name, "rows": [{"shape", "ms", "gflops", "mode"}]}.
"""
import argparse, json, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
ap.add_argument('--sizes', default='64,128,256,512,1024,2048,4096')
ap.add_argument('--threads', type=int, default=0)
ap.add_argument('--tf32', action='store_true', help='also time TF32 (not like-for-like)')
ap.add_argument('--seconds', type=float, default=1.0)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
cuda = a.device.startswith('cuda')
sync = torch.cuda.synchronize if cuda else (lambda: None)
shapes = [(n, n, n) for n in map(int, a.sizes.split(','))] + [(2048, 768, 3072)]


def bench(m, k, n):
    x = torch.randn(m, k, device=a.device)
    w = torch.randn(k, n, device=a.device)
    for _ in range(3):
        x @ w
    sync()
    reps, t0 = 0, time.perf_counter()
    while True:
        x @ w
        reps += 1
        if reps % 4 == 0:
            sync()
            if time.perf_counter() - t0 > a.seconds:
                break
    ms = (time.perf_counter() - t0) / reps * 1000
    return ms, 2 * m * k * n / (ms / 1000) / 1e9


rows = []
modes = ['fp32'] + (['tf32'] if a.tf32 and cuda else [])
for mode in modes:
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = mode == 'tf32'
    for (m, k, n) in shapes:
        if not cuda and m * k * n > 2e9:
            continue
        ms, gf = bench(m, k, n)
        label = f'{m}x{k}x{n}' if m == k == n else f'mlp {m}x{k}x{n}'
        rows.append({'shape': label, 'ms': round(ms, 4), 'gflops': round(gf, 2), 'mode': mode})
name = torch.cuda.get_device_name() if cuda else f'cpu ({torch.get_num_threads()} threads)'
print(json.dumps({'torch': torch.__version__, 'device': name, 'rows': rows}))
