"""Running a group of passes with one adapter: its LoRA weights active on the view, and its
prototype offsets added for the labels each pass asks for.

Where the base model runs on onnxruntime, a LoRA adapter does too: over an export of the base
with that adapter merged in (cached, one per adapter: its merged weights are in the cache
key). Prototype offsets depend on the labels of each pass, so adapters with prototypes run on
torch, in fp32."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ..passes import Pass
from ..runtime.batching import Batch
from ..runtime.options import Runner
from ..runtime.torch_runner import TorchRunner
from .store import AdapterStore

AdapterScore = Callable[[Batch, Sequence[Pass], Sequence], np.ndarray]


class AdapterRunners:
    def __init__(self, ner, store: AdapterStore):
        self.ner = ner
        self.store = store
        self._exports: dict[str, Runner] = {}
        self.fitting = False  # while adapt runs: its trial adapters are not worth an export

    @contextmanager
    def on_torch(self) -> Iterator[None]:
        self.fitting = True
        try:
            yield
        finally:
            self.fitting = False

    def forget(self, name: str) -> None:
        self._exports.pop(name, None)

    @contextmanager
    def session(self, name: str) -> Iterator[AdapterScore]:
        adapter = self.store.get(name)
        options = self.ner.options
        exportable = adapter.manifest.lora and adapter.prototypes is None and not self.fitting
        if options.runtime == "onnx" and exportable:
            with self._exported(name).session() as score:
                yield lambda batch, passes, labelsets: score(batch)
            return
        with self.store.active(name) as view, TorchRunner(view, threads=options.threads).session() as score:
            if adapter.prototypes is None:
                yield lambda batch, passes, labelsets: score(batch)
                return
            offsets = self.store.offsets()
            dim = view.head.type_proj[3].out_features

            def with_prototypes(batch: Batch, passes: Sequence[Pass], labelsets) -> np.ndarray:
                names = [[labelsets[p.doc].names[i] for i in p.labels] for p in passes]
                width = batch.type_positions.shape[1]
                with offsets.applied(adapter.prototypes.for_passes(names, width, dim)):
                    return score(batch)

            yield with_prototypes

    def _exported(self, name: str) -> Runner:
        if name not in self._exports:
            from ..runtime.export import cached_export
            from ..runtime.onnx_runner import onnx_folder_runner

            options = self.ner.options
            folder = cached_export(self.ner, options.precision, self.store.merged(name))
            self._exports[name] = onnx_folder_runner(folder, self.ner.config, options.threads)
        return self._exports[name]
