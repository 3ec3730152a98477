"""This machine's matrix-multiply ceiling at a given thread count, fp32 and bf16:
``python benchmarks/matmul_peak.py THREADS SECONDS`` prints {"fp32": GFLOP/s, "bf16": GFLOP/s}.
Square 2048 matrices (big enough to reach the ceiling); the best of several timed rounds."""

from __future__ import annotations

import json
import sys
import time

import torch

N = 2048


def peak_gflops(dtype: torch.dtype, seconds: float) -> float:
    a = torch.randn(N, N).to(dtype)
    b = torch.randn(N, N).to(dtype)
    out = torch.empty(N, N, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: kernel selection, page faults
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b, out=out)
        best = max(best, 4 * 2 * N**3 / (time.perf_counter() - start) / 1e9)
    return best


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]))
    seconds = float(sys.argv[2])
    print(
        json.dumps(
            {"fp32": peak_gflops(torch.float32, seconds), "bf16": peak_gflops(torch.bfloat16, seconds)}
        )
    )
