"""Fuzz the Python API: any string as text and labels (every code point, lone surrogates, the
tokenizer's control tokens), any threshold and decoding mode, on a tiny random model.

Every call must give entities whose offsets quote the text exactly, or an InputError; anything
else is counted as a crash and the run exits 1.

    python benchmarks/fuzz_api.py --examples 10000
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import build_tiny_backbone

from anyner import AnyNER, InputError

PIECES = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=8),
    st.sampled_from(["<<ENT>>", "<<SEP>>", "[CLS]", "[SEP]", " ", "\ud800", "\udfff"]),
)
TEXTS = st.lists(PIECES, max_size=30).map("".join)
LABELS = st.lists(st.lists(PIECES, min_size=1, max_size=3).map("".join), min_size=1, max_size=4, unique=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = AnyNER.from_backbone(build_tiny_backbone(Path(tempfile.mkdtemp())), dropout=0.0)
    counts: collections.Counter = collections.Counter()

    @settings(max_examples=args.examples, deadline=None, database=None)
    @given(text=TEXTS, labels=LABELS, threshold=st.floats(0, 1), flat=st.booleans(), multi=st.booleans())
    def call(text, labels, threshold, flat, multi):
        counts["calls"] += 1
        try:
            found = model.predict_entities(
                text, labels, threshold=threshold, flat_ner=flat, multi_label=multi
            )
        except InputError:
            counts["input errors"] += 1
            return
        except Exception as exc:  # anything else is a crash: count it and keep fuzzing
            counts[f"crash: {type(exc).__name__}"] += 1
            return
        for e in found:
            counts["entities"] += 1
            if text[e["start"] : e["end"]] != e["text"]:
                counts["offset errors"] += 1

    call()
    print(dict(counts))
    bad = sum(v for k, v in counts.items() if k.startswith("crash") or k == "offset errors")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
