"""Training throughput on CPU: all-MiniLM-L6-v2, 96-word windows of the Pile-NER slice,
batch 8, 2 threads, fp32 and bf16 autocast.

    python benchmarks/train_speed.py [--steps 100] [--precision fp32 bf16]

Prints examples/s over the steps after the first 50 (warm-up excluded), as JSON lines.
The public gliner library's trainer does about 3 examples/s in the same setting (fp32),
as measured on this machine kind (see docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from anyner.train.config import DataSource, TrainConfig
from anyner.train.trainer import Trainer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / "pilener_slice" / "train.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--backbone", default="all-MiniLM-L6-v2")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    torch.set_num_threads(2)
    for precision in args.precision:
        with tempfile.TemporaryDirectory() as out:
            cfg = TrainConfig(
                output_dir=out,
                train=(DataSource(str(args.data)),),
                backbone=args.backbone,
                max_words=96,
                steps=args.steps,
                batch_size=8,
                checkpoint_every=10**9,
                eval_every=10**9,
                bf16=precision == "bf16",
            )
            Trainer(cfg).run()
            rows = [json.loads(line) for line in (Path(out) / "train_log.jsonl").read_text().splitlines()]
            speeds = [r["examples_per_s"] for r in rows if "examples_per_s" in r and r["step"] > 50]
            print(
                json.dumps(
                    {
                        "precision": precision,
                        "backbone": args.backbone,
                        "words_per_window": 96,
                        "batch_size": 8,
                        "threads": 2,
                        "steps_timed": args.steps - 50,
                        "examples_per_s": round(sum(speeds) / len(speeds), 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
