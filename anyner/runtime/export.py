"""ONNX export: the network up to its probabilities, with dynamic batch, token, word and label
axes, into a folder that runs with onnxruntime, tokenizers and numpy alone; int8 through
onnxruntime's dynamic quantisation. And a cache, so a model loaded with ``runtime="onnx"``
is exported once per set of weights."""

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
from ..checkpoints.onnx import CONFIG_FILE, ONNX_FILE, TOKENIZER_FILE, OnnxInfo, config_json, is_onnx
from ..config import ModelConfig
from ..errors import CheckpointError, InputError
from ..text.labels import parse_labels
from ..text.words import split_words
from .batching import MODEL_INPUTS, Batch, collate
from .onnx_runner import INSTALL_HINT, OnnxRunner
from .torch_runner import ScoreModel

EXPORT_PRECISIONS = ("fp32", "int8")
OPSET = 17
EXPORT_VERSION = 1  # part of the cache key: a change to how models are exported makes new exports
MAX_DIFF = 1e-4  # an fp32 export whose probabilities differ more from torch's is refused


def export_onnx(ner, folder: str | Path, precision: str = "fp32") -> Path:
    """Write ``ner`` (an :class:`anyner.AnyNER` holding a torch model) to ``folder`` as
    ``model.onnx``, ``anyner_config.json`` and tokenizer files; ``anyner.load(folder)`` then
    runs it with onnxruntime, without torch. ``precision``: "fp32", or "int8" (weights in int8,
    activations quantised on the fly). The fp32 graph is checked against torch before it is
    written."""
    if precision not in EXPORT_PRECISIONS:
        raise InputError(f"ONNX export precision must be 'fp32' or 'int8', got {precision!r}")
    if ner.model is None:
        raise InputError("this model was loaded from an ONNX export already: copy its folder instead")
    folder = Path(folder)
    if folder.exists() and not (folder.is_dir() and (_usable(folder) or not any(folder.iterdir()))):
        # the folder is replaced as a whole: never someone's other files
        raise InputError(f"{folder} exists and is not an ONNX export: export into a new or empty folder")
    predictor = ner._predictor
    traced, other = _sample(predictor, 2), _sample(predictor, 5)
    was_training = ner.model.training
    scores = ScoreModel(ner.model).eval()  # the exporter puts back the mode it found: eval
    try:
        with atomic_folder(folder) as tmp:
            fp32 = tmp / ("fp32.onnx" if precision == "int8" else ONNX_FILE)
            _trace(scores, traced, fp32, ner.config)
            _check(scores, fp32, other)
            if precision == "int8":
                _quantize(fp32, tmp / ONNX_FILE)
                fp32.unlink()
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
        ner.model.train(was_training)
    return folder


def cached_export(ner, precision: str) -> Path:
    """The export of ``ner`` in ``precision`` under the cache folder (``$ANYNER_CACHE``, else
    ``$XDG_CACHE_HOME/anyner``, else ``~/.cache/anyner``), in ``onnx/<hash of weights, config
    and tokenizer>-<precision>``; exported on first use."""
    folder = cache_root() / "onnx" / f"{fingerprint(ner)}-{precision}"
    if _usable(folder):
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # a broken export left behind
    try:
        export_onnx(ner, folder, precision)
    except OSError:
        if not _usable(folder):  # otherwise another process exported the same model meanwhile
            raise
    return folder


def cache_root() -> Path:
    if os.environ.get("ANYNER_CACHE"):
        return Path(os.environ["ANYNER_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "anyner"


def fingerprint(ner) -> str:
    h = hashlib.sha256()
    config = {**ner.config.to_dict(), "max_tokens": ner._predictor.builder.max_tokens}
    meta = {"export": EXPORT_VERSION, "config": config, "pad_id": ner._predictor.pad_id}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(ner.tokenizer.backend_tokenizer.to_str().encode())
    for name, tensor in sorted(ner.model.state_dict().items()):
        h.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        h.update(tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:24]


def _usable(folder: Path) -> bool:
    try:
        return is_onnx(folder) and (folder / ONNX_FILE).is_file()
    except CheckpointError:
        return False


def _sample(predictor, n_labels: int) -> Batch:
    """A small real batch: passes of different lengths, so no axis is traced at size 1."""
    labels = parse_labels([f"type {i}" for i in range(n_labels)])
    texts = ["Ada Lovelace wrote the first program in London in 1843.", "Paris"][: 1 + (n_labels > 2)]
    passes = [p for i, t in enumerate(texts) for p in predictor.plan(i, split_words(t), labels)]
    passes.append(predictor.plan(len(texts), split_words("New York City"), parse_labels(["place"]))[0])
    return collate([p.inputs for p in passes], predictor.pad_id)


def _trace(scores: ScoreModel, sample: Batch, path: Path, config: ModelConfig) -> None:
    words, types = {0: "batch", 1: "words"}, {0: "batch", 1: "types"}
    out_axes = {**words, 3: "types"} if config.architecture.value == "span" else {**words, 2: "types"}
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "word_positions": words,
        "word_lengths": {0: "batch"},
        "type_positions": types,
        "scores": out_axes,
    }
    tensors = sample.tensors()
    with torch.no_grad(), warnings.catch_warnings(), _no_native_stderr():
        warnings.simplefilter("ignore")  # tracer warnings about Python values read from shapes
        # the TorchScript exporter: it needs no onnxscript and handles the BiLSTM's packed sequences
        torch.onnx.export(
            scores,
            tuple(tensors[name] for name in MODEL_INPUTS),
            str(path),
            input_names=list(MODEL_INPUTS),
            output_names=["scores"],
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
        expected = scores(*(tensors[name] for name in MODEL_INPUTS)).numpy()
    with OnnxRunner(path).session() as run:
        got = run(sample)
    diff = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    if not diff <= MAX_DIFF:
        raise CheckpointError(
            f"the ONNX export does not reproduce the torch model (largest difference {diff:.2g}, "
            f"shapes {got.shape} and {expected.shape}); this encoder cannot be exported as is"
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
