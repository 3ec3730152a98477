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
    def __init__(self, path: Path, threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise AnyNERError(f"runtime='onnx' needs onnxruntime: {INSTALL_HINT}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or physical_cores()
        options.inter_op_num_threads = 1  # one pass at a time: parallel branches are few and small
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise CheckpointError(f"onnxruntime cannot load {path}: {exc}") from exc
        # the exporter drops inputs the graph never reads (word_lengths without a BiLSTM)
        self._inputs = [x.name for x in self._session.get_inputs()]

    @contextmanager
    def session(self) -> Iterator[Score]:
        yield self._run

    def _run(self, batch: Batch) -> np.ndarray:
        given = batch.model_inputs()
        return self._session.run(None, {name: given[name] for name in self._inputs})[0]
