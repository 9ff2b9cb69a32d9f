#!/usr/bin/env python3
"""The SGEMM peer on an NVIDIA machine: cuBLAS through PyTorch, TF32 off (so it is float32
arithmetic, like Tessera's), timed with the host copies (as `tessera-bench vulkan|opencl` time a
graph run) and on the device alone. Usage: cublas-sgemm.py SIZE [SIZE ...]"""
import sys
import time

try:
    import torch
except ImportError:
    sys.exit(print("peer absent: no PyTorch") or 0)
if not torch.cuda.is_available():
    sys.exit(print("peer absent: PyTorch sees no CUDA device") or 0)
torch.backends.cuda.matmul.allow_tf32 = False

for n in map(int, sys.argv[1:]):
    a, b = torch.randn(n, n), torch.randn(n, n)
    flops = 2 * n**3

    def round_trip():
        return (a.cuda() @ b.cuda()).cpu()

    round_trip()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        round_trip()
        best = min(best, time.perf_counter() - start)
    da, db = a.cuda(), b.cuda()
    da @ db
    torch.cuda.synchronize()
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    begin.record()
    for _ in range(20):
        da @ db
    end.record()
    torch.cuda.synchronize()
    device = begin.elapsed_time(end) / 1e3 / 20
    print(f"cuBLAS via PyTorch {torch.__version__} sgemm {n}^3 (TF32 off): with host copies "
          f"{flops / best / 1e9:.1f} GFLOP/s ({best * 1e3:.2f} ms), on the device alone {flops / device / 1e9:.1f} GFLOP/s")
