"""Strict F1 of one or more models over a range of thresholds, from one prediction pass each.

Flat decoding keeps the best non-overlapping spans greedily by score, so the entities found at
threshold t' >= t are exactly those found at t whose score is at least t': the models run
once, at the lowest threshold. Use dev splits (never the test splits) to choose anything.

    python benchmarks/threshold_sweep.py ../shared/data/zeroshot_dev --split dev \
        --model anyner/weights/default --model runs/gpu/final/model
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyner
from anyner.data.formats import read_examples
from anyner.eval.benchmark import dataset_labels, find_datasets
from anyner.eval.metrics import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    sets = [(name, path, read_examples(path)) for name, path in find_datasets(args.folder, args.split)]
    for model_path in args.model:
        model = anyner.load(model_path)
        print(f"\n{model_path} ({args.split}; F1 per threshold)")
        print("| data set | " + " | ".join(f"{t:g}" for t in thresholds) + " |")
        print("|---|" + "---:|" * len(thresholds))
        averages = [0.0] * len(thresholds)
        for name, path, examples in sets:
            labels = dataset_labels(path.parent, examples)
            found = model.batch_predict_words([ex.words for ex in examples], labels, min(thresholds), True)
            gold = [ex.spans for ex in examples]
            row = []
            for i, t in enumerate(thresholds):
                predicted = [[(s, e, label) for s, e, label, p in spans if p >= t] for spans in found]
                f1 = 100 * score(gold, predicted).micro.f1
                averages[i] += f1 / len(sets)
                row.append(f"{f1:.2f}")
            print(f"| {name} | " + " | ".join(row) + " |")
        print("| **average** | " + " | ".join(f"**{a:.2f}**" for a in averages) + " |", flush=True)


if __name__ == "__main__":
    main()
