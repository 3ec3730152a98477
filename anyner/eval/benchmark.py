"""The zero-shot benchmark: one model over every data set of a folder, one row per data set.

A folder holds one subfolder per data set, each with ``{split}.jsonl`` (any format
``read_examples`` reads) and optionally a ``meta.json`` whose ``"labels"`` list names every type
of the data set. The model is asked for the data set's own labels: the meta list (so a type that
never occurs in this split can still be wrongly predicted and counted), plus any gold label the
list lacks, so no gold mention is ever scored against a type the model was not asked for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data.formats import read_examples
from ..errors import InputError
from ..options import DEFAULT_OPTIONS, DecodeOptions
from .evaluate import evaluate

Notify = Callable[[str, int, int, dict[str, Any] | None], None]


def run_benchmark(
    model,
    folder: str | Path,
    split: str = "test",
    options: DecodeOptions = DEFAULT_OPTIONS,
    max_examples: int | None = None,
    notify: Notify | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``folder/<name>/<split>.jsonl`` for every data set ``name``.

    ``max_examples``: only the first N examples of each split (a quick look, not a result to
    report). ``notify(name, index, total, row)`` is called before each data set (row None) and
    after it (with its row), for progress displays. Scores are percentages rounded to 2 places;
    ``average_f1`` is the mean of the rows' F1 as shown.
    """
    if max_examples is not None and max_examples < 1:
        raise InputError(f"max_examples must be at least 1, got {max_examples}")
    sets = find_datasets(folder, split)
    rows = []
    for index, (name, path) in enumerate(sets):
        if notify is not None:
            notify(name, index, len(sets), None)
        tic = time.perf_counter()
        examples = read_examples(path)
        if max_examples is not None:
            examples = examples[:max_examples]
        labels = dataset_labels(path.parent, examples)
        report = evaluate(model, examples, labels, options)
        micro = report.micro.as_dict()
        row = {
            "dataset": name,
            "examples": len(examples),
            "mentions": report.micro.tp + report.micro.fn,
            "labels": len(labels),
            "precision": micro["precision"],
            "recall": micro["recall"],
            "f1": micro["f1"],
            "seconds": round(time.perf_counter() - tic, 2),
        }
        rows.append(row)
        if notify is not None:
            notify(name, index, len(sets), row)
    return {
        "rows": rows,
        "average_f1": round(sum(r["f1"] for r in rows) / len(rows), 2),
        "threshold": options.threshold,
        "mode": "flat" if options.flat_ner else "nested",
        "split": split,
        "max_examples": max_examples,
        "precision": model.precision,
        "runtime": model.runtime,
    }


def find_datasets(folder: str | Path, split: str) -> list[tuple[str, Path]]:
    """(name, split file) for each subfolder of ``folder`` that has ``{split}.jsonl``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"benchmark folder {folder} does not exist or is not a folder")
    if not split or "/" in split or "\\" in split:
        raise InputError(f"split must be a plain name such as 'test' or 'dev', got {split!r}")
    sets = sorted((sub.name, sub / f"{split}.jsonl") for sub in folder.iterdir() if sub.is_dir())
    found = [(name, path) for name, path in sets if path.is_file()]
    if not found:
        raise InputError(
            f"no data set in {folder} has a {split}.jsonl file: expected {folder}/<name>/{split}.jsonl; "
            f"check the folder and --split"
        )
    return found


def dataset_labels(folder: Path, examples) -> list[str]:
    """The meta.json "labels" list of ``folder`` (if any), then every other gold label in order."""
    labels: list[str] = []
    meta_path = folder / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{meta_path}: not valid JSON ({exc})") from exc
        listed = meta.get("labels") if isinstance(meta, dict) else None
        if listed is not None:
            if not isinstance(listed, list) or not all(isinstance(x, str) and x.strip() for x in listed):
                raise InputError(f'{meta_path}: "labels" must be a list of non-empty strings')
            labels = list(dict.fromkeys(listed))
    gold = dict.fromkeys(label for ex in examples for _, _, label in ex.spans)
    labels += [label for label in gold if label not in labels]
    if not labels:
        raise InputError(
            f"{folder}: no labels to ask for: the split has no mentions and there is no meta.json "
            f'with a "labels" list'
        )
    return labels


def to_markdown(result: dict[str, Any]) -> str:
    """A markdown table, one row per data set and an average row, then the settings used."""
    lines = [
        "| data set | examples | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        scores = " | ".join(f"{r[key]:.2f}" for key in ("precision", "recall", "f1"))
        lines.append(f"| {_cell(r['dataset'])} | {r['examples']} | {scores} |")
    lines.append(f"| average | | | | {result['average_f1']:.2f} |")
    note = (
        f"threshold {result['threshold']}, {result['mode']} decoding, split {result['split']}, "
        f"{result['precision']} on {result['runtime']}"
    )
    if result.get("max_examples") is not None:
        note += f", first {result['max_examples']} examples per data set"
    return "\n".join(lines) + "\n\n" + note + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
