"""Running an exported network with onnxruntime: numpy in, numpy out, no torch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import AnyNERError, CheckpointError
from .batching import Batch
from .options import Score
from .threads import physical_cores

INSTALL_HINT = "pip install 'anyner[onnx]' (onnxruntime and onnx)"


class OnnxRunner:
    """``path``: the scoring graph; ``labels_path``: a two-stage model's label graph."""

    def __init__(self, path: Path, threads: int | None = None, labels_path: Path | None = None):
        self._session = _session(path, threads)
        # the exporter drops inputs the graph never reads (word_lengths without a BiLSTM)
        self._inputs = [x.name for x in self._session.get_inputs()]
        self._labels = _session(labels_path, threads) if labels_path is not None else None

    @contextmanager
    def session(self) -> Iterator[Score]:
        yield self._run

    def _run(self, batch: Batch) -> np.ndarray:
        given = batch.model_inputs()
        return self._session.run(None, {name: given[name] for name in self._inputs})[0]

    def encode_labels(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        if self._labels is None:
            raise CheckpointError("this ONNX export has no label graph: it is not a bi-encoder's")
        feeds = {"label_input_ids": input_ids, "label_attention_mask": attention_mask}
        return self._labels.run(None, feeds)[0]


def onnx_folder_runner(folder: Path, config, threads: int | None) -> OnnxRunner:
    """The runner of an export folder: its scoring graph, and a two-stage variant's label graph."""
    from ..checkpoints.onnx import LABELS_ONNX_FILE, ONNX_FILE
    from ..variants import get_variant

    two_stage = get_variant(config.variant).two_stage
    return OnnxRunner(folder / ONNX_FILE, threads, folder / LABELS_ONNX_FILE if two_stage else None)


def _session(path: Path, threads: int | None):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise AnyNERError(f"runtime='onnx' needs onnxruntime: {INSTALL_HINT}") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1  # one pass at a time: parallel branches are few and small
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise CheckpointError(f"onnxruntime cannot load {path}: {exc}") from exc
