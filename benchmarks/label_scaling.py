"""Time per text as the number of labels grows: a uni-encoder against a bi-encoder whose label
vectors are computed once (``encode_labels``) and passed back.

Both are built on all-MiniLM-L6-v2 (the bi-encoder's label encoder too) with untrained heads:
this measures speed, not quality. 100 short texts; labels "type 0" … "type N-1"; threshold
0.9, so that decoding the random heads' near-0.5 scores does not dominate the timing.

    python benchmarks/label_scaling.py --counts 10,100,1000 --texts 100
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

import anyner
from anyner.runtime.cpu import cpu_info

TEXTS = [
    "Ada Lovelace wrote the first program for Babbage's engine in London in 1843.",
    "The Eiffel Tower in Paris was finished in 1889 for the World's Fair.",
    "Apple released the iPhone in San Francisco on January 9, 2007.",
    "Marie Curie won the Nobel Prize in Physics in 1903 and in Chemistry in 1911.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10,100,1000")
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    texts = [TEXTS[i % len(TEXTS)] for i in range(args.texts)]
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    # models built in code run fp32 on torch
    uni = anyner.AnyNER.from_backbone("all-MiniLM-L6-v2", variant="uni-span")
    bi = anyner.AnyNER.from_backbone("all-MiniLM-L6-v2", variant="bi-span")
    info = cpu_info()
    print(
        f"CPU: {info.model} ({', '.join(info.feature_names())}); {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(texts)} texts, fp32 torch"
    )
    print(
        "| labels | uni-encoder ms/text | bi-encoder ms/text (cached vectors) "
        "| encode_labels once, ms | speed-up |"
    )
    print("|---:|---:|---:|---:|---:|")
    for n in counts:
        labels = [f"type {i}" for i in range(n)]
        bi.batch_predict_entities(texts[:2], labels)  # warm-up
        tic = time.perf_counter()
        vectors = bi.encode_labels(labels)
        encode_ms = 1000 * (time.perf_counter() - tic)
        tic = time.perf_counter()
        bi.batch_predict_entities(texts, vectors, threshold=0.9)
        bi_ms = 1000 * (time.perf_counter() - tic) / len(texts)
        uni.batch_predict_entities(texts[:2], labels[:10])  # warm-up
        tic = time.perf_counter()
        uni.batch_predict_entities(texts, labels, threshold=0.9)
        uni_ms = 1000 * (time.perf_counter() - tic) / len(texts)
        print(f"| {n} | {uni_ms:.1f} | {bi_ms:.1f} | {encode_ms:.0f} | {uni_ms / bi_ms:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
