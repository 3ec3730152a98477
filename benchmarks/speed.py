"""Inference throughput on CPU: short sentences, shared labels, fixed batch size.

    python benchmarks/speed.py --model all-MiniLM-L6-v2 --batch-size 8 --labels 4
    python benchmarks/speed.py --model anyner/weights/default --precision bf16

``--model`` is a model folder, or a backbone name (then the heads are untrained: the speed
is the same, the entities are not meaningful). Sentences come from ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_corpus import labels as entity_types

import anyner
from anyner import AnyNER
from anyner.runtime.cpu import cpu_info

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / "conll2003" / "test.jsonl"


def sentences(path: Path, n: int) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            words = json.loads(line)["tokenized_text"]
            if len(words) >= 8:
                out.append(" ".join(words))
            if len(out) == n:
                break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--labels", type=int, default=4)
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--precision", default="auto", help="as anyner.load's (default: %(default)s)")
    ap.add_argument("--runtime", default=None, help="as anyner.load's (default: what auto picks)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    options = {"precision": args.precision, "runtime": args.runtime, "threads": args.threads}
    if Path(args.model).is_dir():
        model = anyner.load(args.model, **options)
    else:
        model = AnyNER.from_backbone(args.model)
    texts = sentences(args.data, args.texts)
    labels = entity_types(args.labels)
    model.batch_predict_entities(texts[:32], labels, batch_size=args.batch_size)  # warm-up
    start = time.perf_counter()
    model.batch_predict_entities(texts, labels, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    words = sum(len(t.split()) for t in texts)
    cpu = cpu_info()
    print(
        json.dumps(
            {
                "model": args.model,
                "texts": len(texts),
                "mean_words": round(words / len(texts), 1),
                "labels": len(labels),
                "batch_size": args.batch_size,
                "threads": args.threads,
                "precision": model.precision,
                "runtime": model.runtime,
                "texts_per_s": round(len(texts) / seconds, 1),
                "words_per_s": round(words / seconds),
                "torch": torch.__version__,
                "cpu": cpu.model,
                "cpu_features": cpu.feature_names(),
            }
        )
    )


if __name__ == "__main__":
    main()
