"""Make tests/fixtures/gliner/poly_span_tiny with the public gliner library itself: a bi-encoder
with post-fusion ("poly-encoder": attention among labels, from labels to text, among words and
from text to labels after both encoders), saved by gliner, with what gliner predicts.

It starts from ../shared/fixtures/gliner/bi_span_tiny (made by gliner 0.2.29) with
``post_fusion_schema`` set, so gliner builds its cross-fuser with fresh weights (seeded), and
saves the model as safetensors. Run it with the python of a venv that has gliner 0.2.29 (the
one ``benchmarks/compare.py`` builds: ``~/.cache/anyner-bench/gliner-venv``):

    ~/.cache/anyner-bench/gliner-venv/bin/python benchmarks/make_poly_fixture.py
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gliner
import torch
from gliner import GLiNER

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "fixtures" / "gliner" / "bi_span_tiny"
TARGET = ROOT / "tests" / "fixtures" / "gliner" / "poly_span_tiny"
SCHEMA = "l2l-l2t-t2t-t2l"
TEXTS = [
    "Bill Gates founded Microsoft in Albuquerque in 1975.",
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
    "The aspirin trial at Johns Hopkins enrolled 200 patients.",
]
CASES = [
    (["person", "organization", "location", "date"], True, False),
    (["person", "organization", "location", "date"], False, True),
    (["person", "city"], True, False),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "model"
        shutil.copytree(SOURCE, work)
        cfg = json.loads((work / "gliner_config.json").read_text())
        cfg.update(post_fusion_schema=SCHEMA, num_post_fusion_layers=1)
        (work / "gliner_config.json").write_text(json.dumps(cfg))
        torch.manual_seed(0)
        model = GLiNER.from_pretrained(str(work), local_files_only=True)
        model.eval()
        shutil.rmtree(TARGET, ignore_errors=True)
        model.save_pretrained(str(TARGET), safe_serialization=True)
    for leftover in TARGET.glob("*.bin"):
        leftover.unlink()  # the safetensors file holds the weights; no pickles in the repository
    scores = model.inference(TEXTS, CASES[0][0], threshold=0.0, flat_ner=False, multi_label=True)
    ranked = sorted(e["score"] for doc in scores for e in doc)
    threshold = round(ranked[-12], 6)  # about a dozen entities: scores spread, not near-ties
    cases = []
    for labels, flat, multi in CASES:
        entities = model.inference(TEXTS, labels, threshold=threshold, flat_ner=flat, multi_label=multi)
        cases.append(
            {
                "labels": labels,
                "flat_ner": flat,
                "multi_label": multi,
                "threshold": threshold,
                "texts": TEXTS,
                "entities": entities,
            }
        )
    reference = {"made_with": f"gliner {gliner.__version__}, torch {torch.__version__}", "cases": cases}
    (TARGET / "reference.json").write_text(json.dumps(reference, indent=1))
    print(TARGET, "threshold", threshold, [sum(map(len, c["entities"])) for c in cases])


if __name__ == "__main__":
    main()
