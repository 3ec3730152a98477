"""ONNX export: the network up to its probabilities, with dynamic batch, token, word and label
axes, into a folder that runs with onnxruntime, tokenizers and numpy alone; int8 through
onnxruntime's dynamic quantisation. One graph per stage: a two-stage variant (bi-encoder) also
gets its label stage as ``labels.onnx``. And a cache, so a model loaded with
``runtime="onnx"`` is exported once per set of weights."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..checkpoints.folder import atomic_folder
from ..checkpoints.labels_tokenizer import write_labels_tokenizer
from ..checkpoints.onnx import (
    CONFIG_FILE,
    LABELS_ONNX_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    OnnxInfo,
    config_json,
    is_onnx,
)
from ..config import ModelConfig
from ..errors import CheckpointError, InputError
from ..text.labels import LabelSet, parse_labels
from ..text.words import split_words
from .batching import Batch
from .onnx_runner import INSTALL_HINT, OnnxRunner
from .torch_runner import LabelModel, ScoreModel

EXPORT_PRECISIONS = ("fp32", "int8")
OPSET = 17
EXPORT_VERSION = 2  # part of the cache key: a change to how models are exported makes new exports
MAX_DIFF = 1e-4  # an fp32 export whose probabilities differ more from torch's is refused


def export_onnx(ner, folder: str | Path, precision: str = "fp32", model=None) -> Path:
    """Write ``ner`` (an :class:`anyner.AnyNER` holding a torch model) to ``folder`` as
    ``model.onnx``, ``anyner_config.json`` and tokenizer files; ``anyner.load(folder)`` then
    runs it with onnxruntime, without torch. ``precision``: "fp32", or "int8" (weights in int8,
    activations quantised on the fly). The fp32 graph is checked against torch before it is
    written. ``model``: the torch network to trace instead of ``ner.model`` (an adapted copy)."""
    if precision not in EXPORT_PRECISIONS:
        raise InputError(f"ONNX export precision must be 'fp32' or 'int8', got {precision!r}")
    if ner.model is None:
        raise InputError("this model was loaded from an ONNX export already: copy its folder instead")
    folder = Path(folder)
    if folder.exists() and not (folder.is_dir() and (_usable(folder) or not any(folder.iterdir()))):
        # the folder is replaced as a whole: never someone's other files
        raise InputError(f"{folder} exists and is not an ONNX export: export into a new or empty folder")
    predictor = ner.pipeline
    network = model if model is not None else ner.model
    was_training = network.training
    scores = ScoreModel(network).eval()  # the exporter puts back the mode it found: eval
    two_stage = predictor.variant.two_stage
    try:
        traced, other = _sample(ner, 2), _sample(ner, 5)
        with atomic_folder(folder) as tmp:
            graphs = [(ONNX_FILE, lambda path: _trace_scores(scores, traced, path, predictor.variant))]
            if two_stage:
                graphs.append((LABELS_ONNX_FILE, lambda path: _trace_labels(ner, path)))
            for name, trace in graphs:
                fp32 = tmp / (f"fp32-{name}" if precision == "int8" else name)
                trace(fp32)
                if name == ONNX_FILE:
                    _check(scores, fp32, other)
                if precision == "int8":
                    _quantize(fp32, tmp / name)
                    fp32.unlink()
            if two_stage:
                write_labels_tokenizer(predictor.labels_tokenizer.tokenizer, tmp)
            ner.tokenizer.save_pretrained(str(tmp))
            if not (tmp / TOKENIZER_FILE).is_file():
                raise CheckpointError(
                    f"the tokenizer wrote no {TOKENIZER_FILE}; ONNX export needs a fast tokenizer"
                )
            config = ModelConfig(
                **{**ner.config.to_dict(), "max_tokens": predictor.builder.max_tokens, "base": None}
            )
            info = OnnxInfo(precision, predictor.pad_id, OPSET)
            (tmp / CONFIG_FILE).write_text(config_json(config, info), encoding="utf-8")
    finally:
        network.train(was_training)
    return folder


def cached_export(ner, precision: str, model=None) -> Path:
    """The export of ``ner`` in ``precision`` under the cache folder (``$ANYNER_CACHE``, else
    ``$XDG_CACHE_HOME/anyner``, else ``~/.cache/anyner``), in ``onnx/<hash of weights, config
    and tokenizer>-<precision>``; exported on first use. ``model``: an adapted copy of the
    network to export instead (its merged weights are in the hash: one export per adapter)."""
    folder = cache_root() / "onnx" / f"{fingerprint(ner, model)}-{precision}"
    if _usable(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # a broken export left behind
    try:
        export_onnx(ner, folder, precision, model)
    except OSError:
        if not _usable(folder):  # otherwise another process exported the same model meanwhile
            raise
    return folder


def cache_root() -> Path:
    if os.environ.get("ANYNER_CACHE"):
        return Path(os.environ["ANYNER_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "anyner"


def fingerprint(ner, model=None) -> str:
    h = hashlib.sha256()
    config = {**ner.config.to_dict(), "max_tokens": ner.pipeline.builder.max_tokens}
    meta = {"export": EXPORT_VERSION, "config": config, "pad_id": ner.pipeline.pad_id}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(ner.tokenizer.backend_tokenizer.to_str().encode())
    for name, tensor in sorted((model if model is not None else ner.model).state_dict().items()):
        h.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        h.update(tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:24]


def _usable(folder: Path) -> bool:
    try:
        return is_onnx(folder) and (folder / ONNX_FILE).is_file()
    except CheckpointError:
        return False


SAMPLE_LABELS = [f"type {i}" for i in range(5)]


def _sample(ner, n_labels: int) -> Batch:
    """A small real batch: passes of different lengths, so no axis is traced at size 1."""
    predictor = ner.pipeline
    texts = ["Ada Lovelace wrote the first program in London in 1843.", "Paris"][: 1 + (n_labels > 2)]
    many, one = _sample_labels(ner, SAMPLE_LABELS[:n_labels]), _sample_labels(ner, ["place"])
    docs = [*texts, "New York City"]
    labelsets = [*([many] * len(texts)), one]
    passes = [p for i, t in enumerate(docs) for p in predictor.plan(i, split_words(t), labelsets[i])]
    return predictor.variant.encoding.batch(predictor, passes, labelsets)


def _sample_labels(ner, names: list[str]) -> LabelSet:
    """Labels, with their vectors from the torch model for a two-stage variant (the runner may
    be this very export, not made yet)."""
    labels = parse_labels(names)
    tokenizer = ner.pipeline.labels_tokenizer
    if not ner.pipeline.variant.two_stage or tokenizer is None:
        return labels
    ids, mask = tokenizer.encode(labels.prompts)
    with torch.no_grad():
        vectors = LabelModel(ner.model).eval()(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    return LabelSet(labels.names, labels.prompts, vectors)


def _trace_scores(scores: ScoreModel, sample: Batch, path: Path, variant) -> None:
    words, types = {0: "batch", 1: "words"}, {0: "batch", 1: "types"}
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "word_positions": words,
        "word_lengths": {0: "batch"},
        "type_positions": types,
        "label_vectors": {0: "labels"},
        "type_index": types,
        "type_counts": {0: "batch"},
        "scores": variant.level.output_axes(),
    }
    tensors = sample.tensors()
    names = list(sample.inputs)
    _export(
        scores,
        tuple(tensors[n] for n in names),
        path,
        names,
        ["scores"],
        {n: axes[n] for n in [*names, "scores"]},
    )


def _trace_labels(ner, path: Path) -> None:
    ids, mask = ner.pipeline.labels_tokenizer.encode(["person", "a place with a name", "x"])
    axes = {"label_input_ids": {0: "labels", 1: "tokens"}, "label_attention_mask": {0: "labels", 1: "tokens"}}
    model = LabelModel(ner.model).eval()
    inputs = (torch.from_numpy(ids), torch.from_numpy(mask))
    _export(model, inputs, path, list(axes), ["label_vectors"], {**axes, "label_vectors": {0: "labels"}})
    with torch.no_grad():
        other = ner.pipeline.labels_tokenizer.encode(["organization", "date"])
        expected = model(*(torch.from_numpy(a) for a in other)).numpy()
    got = OnnxRunner(path, labels_path=path).encode_labels(*other)
    _compare(got, expected, "label")


def _export(module, inputs: tuple, path: Path, input_names, output_names, axes) -> None:
    with torch.no_grad(), warnings.catch_warnings(), _no_native_stderr():
        warnings.simplefilter("ignore")  # tracer warnings about Python values read from shapes
        # the TorchScript exporter: it needs no onnxscript and handles the BiLSTM's packed sequences
        torch.onnx.export(
            module,
            inputs,
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


@contextmanager
def _no_native_stderr() -> Iterator[None]:
    """Silence what C++ code writes to stderr (the exporter's shape-inference warnings about the
    BiLSTM's packed sequences, harmless: the graph is checked against torch after); Python
    exceptions still carry the errors."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check(scores: ScoreModel, path: Path, sample: Batch) -> None:
    """The graph must reproduce torch on a batch of other shapes than the traced one."""
    with torch.no_grad():
        tensors = sample.tensors()
        expected = scores(*(tensors[name] for name in sample.inputs)).numpy()
    with OnnxRunner(path).session() as run:
        got = run(sample)
    _compare(got, expected, "score")


def _compare(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if not diff <= MAX_DIFF:
        raise CheckpointError(
            f"the ONNX export does not reproduce the torch model's {what}s (largest difference "
            f"{diff:.2g}, shapes {got.shape} and {expected.shape}); this encoder cannot be exported as is"
        )


def _quantize(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise InputError(f"int8 export needs onnxruntime and onnx: {INSTALL_HINT}") from exc
    # it logs a hint to pre-process the graph, whose symbolic shape inference fails on this one
    previous = logging.root.manager.disable
    logging.disable(max(previous, logging.WARNING))
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        logging.disable(previous)
