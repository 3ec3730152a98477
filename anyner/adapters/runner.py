"""Running a group of passes with one adapter: its LoRA weights active on the view, and its
prototype offsets added for the labels each pass asks for. Always fp32 torch: an adapter is
small and changes often, so it is not worth an export."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ..passes import Pass
from ..runtime.batching import Batch
from ..runtime.torch_runner import TorchRunner
from .store import AdapterStore

AdapterScore = Callable[[Batch, Sequence[Pass], Sequence], np.ndarray]


@contextmanager
def adapter_session(store: AdapterStore, name: str, threads: int | None) -> Iterator[AdapterScore]:
    adapter = store.get(name)
    with store.active(name) as view:
        runner = TorchRunner(view, threads=threads)
        with runner.session() as score:
            if adapter.prototypes is None:
                yield lambda batch, passes, labelsets: score(batch)
                return
            offsets = store.offsets()
            dim = view.head.type_proj[3].out_features

            def with_prototypes(batch: Batch, passes: Sequence[Pass], labelsets) -> np.ndarray:
                names = [[labelsets[p.doc].names[i] for i in p.labels] for p in passes]
                width = batch.type_positions.shape[1]
                with offsets.applied(adapter.prototypes.for_passes(names, width, dim)):
                    return score(batch)

            yield with_prototypes
