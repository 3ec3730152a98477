"""Which encoder depth the router's sentence vectors should come from, and how many bank
sentences each language needs: routing accuracy per dev set and routing time, for routers with
vectors pooled after 1, 2, 3 and all 12 layers of the multilingual model's encoder, on banks of
``--bank`` sentences per language (the African languages keep their own, smaller count).

    python benchmarks/routing_layers.py --data ../shared/data --per-set 500
    python benchmarks/routing_layers.py --data ../shared/data --layers 2 --bank 200 500

The sets, samples and the 5-word minimum are those of benchmarks/multilingual_eval.py.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from multilingual_eval import DEV
from train_language_adapters import ROUTER, bank, sentences, text_of

import anyner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--model", default="multilingual")
    parser.add_argument("--per-set", type=int, default=500)
    parser.add_argument("--bank", type=int, nargs="*", default=[200])
    parser.add_argument("--layers", type=int, nargs="*", default=[1, 2, 3, 12])
    args = parser.parse_args()
    data = Path(args.data)
    model = anyner.load(args.model, precision="fp32", runtime="torch")
    queries = {}
    for name, adapter in DEV.items():
        examples = [ex for ex in sentences(data, [name], args.per_set, 0, split="dev") if len(ex.words) >= 5]
        queries[name] = ([text_of(ex, adapter) for ex in examples], adapter)
    every = [t for q, _ in queries.values() for t in q]
    print("| bank | layers | " + " | ".join(queries) + " | routing s (all queries) |")
    print("|---" * (len(queries) + 3) + "|")
    for per_language, layers in itertools.product(args.bank, args.layers):
        texts, tags = bank(data, per_language)
        model.build_router(texts, tags, replace(ROUTER, layers=layers))
        cells = []
        for q, adapter in queries.values():
            got = [r["adapter"] for r in model.route(q)]
            cells.append(f"{100 * np.mean([g == adapter for g in got]):.1f}")
        tic = time.perf_counter()
        model.route(every)
        cells.append(f"{time.perf_counter() - tic:.1f}")
        print(f"| {len(texts)} | {layers} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
