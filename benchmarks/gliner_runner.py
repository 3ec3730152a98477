"""The public gliner library's side of the benchmark; runs in gliner's own virtual environment
(compare.py creates it), so it imports only gliner, torch and the standard library.

    python gliner_runner.py checkpoint --backbone DIR --out DIR [--seed 0]
        gliner builds a span model (markerV0, max_width 12) on the backbone with GLiNERConfig and
        GLiNER.from_config (heads seeded, untrained) and saves it.
    python gliner_runner.py JOB.json RESULT.json
        times gliner's inference on the job's runs (see bench_worker).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import bench_worker


def make_checkpoint(args: argparse.Namespace) -> None:
    import torch
    from gliner import GLiNER, GLiNERConfig

    # Untrained heads score every span near 0.5 and a few training steps only push all scores
    # down together (the sample data's negatives dominate): neither spreads them, so the
    # benchmark calibrates its threshold instead, and the heads stay as seeded.
    torch.manual_seed(args.seed)
    config = GLiNERConfig(model_name=str(args.backbone), span_mode="markerV0", max_width=12)
    GLiNER.from_config(config).save_pretrained(args.out)


def load(job: dict):
    import gliner
    import torch
    import transformers
    from gliner import GLiNER

    torch.set_num_threads(job["threads"])
    model = GLiNER.from_pretrained(job["checkpoint"], local_files_only=True)
    model.eval()

    def predict(texts, labels, threshold, batch_size):  # as users call it (it runs under no_grad)
        return model.inference(list(texts), labels, threshold=threshold, batch_size=batch_size)

    versions = {
        "gliner": gliner.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    return predict, versions


def main() -> None:
    if sys.argv[1:2] != ["checkpoint"]:
        bench_worker.main(load)
        return
    ap = argparse.ArgumentParser(prog="gliner_runner.py checkpoint")
    ap.add_argument("--backbone", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    make_checkpoint(ap.parse_args(sys.argv[2:]))


if __name__ == "__main__":
    main()
