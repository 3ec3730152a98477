"""Train the library of domain adapters that method="lorahub" composes, over the shipped
default model, from ../shared/data/train (never from zeroshot_dev).

    python benchmarks/train_domain_adapters.py --data ../shared/data --steps 300

Each adapter is a LoRA adapter fitted with ``adapt(method="lora")`` on a sample of one data
set's train split, saved to anyner/weights/adapters/<name>/.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import anyner
from anyner.adapters import AdaptSettings
from anyner.data import read_examples

# name -> data set in train/ (licence class from its meta.json, see docs/fewshot.md)
LIBRARY = {
    "news": "conll2003",  # non-commercial
    "biomedical": "bc5cdr",  # unknown
    "social": "tweetner7",  # non-commercial
    "wikipedia": "fewnerd",  # open
    "software": "stackoverflow_ner",  # open
    "science": "somesci",  # open
}
OUT = Path(__file__).resolve().parent.parent / "anyner" / "weights" / "adapters"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--texts", type=int, default=2000, help="sentences sampled per data set")
    parser.add_argument("--only", nargs="*", help="names to train (default: all)")
    args = parser.parse_args()
    model = anyner.load(precision="fp32", runtime="torch")
    base = AdaptSettings()
    settings = replace(base, lora=replace(base.lora, steps=args.steps))
    for name, folder in LIBRARY.items():
        if args.only and name not in args.only:
            continue
        path = Path(args.data) / "train" / folder / "train.jsonl"
        examples = [ex for ex in read_examples(path) if ex.spans]
        pick = np.random.default_rng(0).choice(len(examples), min(args.texts, len(examples)), replace=False)
        support = [examples[i] for i in sorted(pick)]
        tic = time.perf_counter()
        report = model.adapt(support, name=name, method="lora", settings=settings, evaluate=False)
        model.save_adapter(name, OUT / name)
        print(
            f"{name} ({folder}): {len(support)} texts, {len(report.labels)} labels, "
            f"{time.perf_counter() - tic:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
