"""Running the network with torch: fp32, or bf16 under CPU autocast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .batching import Batch
from .options import Score
from .threads import physical_cores


class ScoreModel(nn.Module):
    """The network up to probabilities, in fp32: what the torch runner runs and what ONNX
    export traces, so both runtimes compute the very same function. Its inputs are the
    variant's (``Batch.inputs``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(*inputs).float())


class LabelModel(nn.Module):
    """A two-stage model's label stage: label tokens -> label vectors, in fp32."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, label_input_ids: torch.Tensor, label_attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode_labels(label_input_ids, label_attention_mask).float()


class TorchRunner:
    def __init__(self, model: nn.Module, bf16: bool = False, threads: int | None = None):
        self.scores = ScoreModel(model)
        self.bf16 = bf16
        set_torch_threads(threads)

    @contextmanager
    def session(self) -> Iterator[Score]:
        # one autocast region for the whole run: its cache of bf16 weight copies lives as long
        model = self.scores.model
        was_training = model.training
        model.eval()
        try:
            device = _device(model)
            with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.bf16):
                yield self._run
        finally:
            model.train(was_training)

    def _run(self, batch: Batch) -> np.ndarray:
        tensors = batch.tensors()
        device = _device(self.scores.model)
        return self.scores(*(tensors[name].to(device) for name in batch.inputs)).cpu().numpy()

    def encode_labels(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """The label stage: (L, T) label tokens -> (L, D) vectors (always fp32: they are cached)."""
        model = self.scores.model
        was_training = model.training
        model.eval()
        try:
            device = _device(model)
            with torch.inference_mode():
                ids, mask = (torch.from_numpy(a).to(device) for a in (input_ids, attention_mask))
                return LabelModel(model)(ids, mask).cpu().numpy()
        finally:
            model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    """Where the model's weights are: the CPU, or a GPU while training there."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def set_torch_threads(threads: int | None) -> None:
    """``threads`` if given; otherwise torch's own setting (its default is the physical cores,
    or what the caller set), lowered to the cores this process may really use."""
    wanted = threads if threads is not None else min(torch.get_num_threads(), physical_cores())
    if wanted != torch.get_num_threads():
        torch.set_num_threads(wanted)
